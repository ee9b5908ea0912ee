"""Paper 4's library on tiny in-test audiovisual shards: metrics, attacks, recogniser and SyncNet training (with
resume through the shared trainer), attack + detection + report end to end, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsec.avdetect import core as avdetect
from avsec.avdetect.attacks import bim, bim_iterations, cw_ctc, distortion, fgsm
from avsec.avdetect.nets import AVRecogniser, encode_text
from avsec.avdetect.report import write_report
from avsec.core.errors import ConfigError, InputError
from avsec.io.shards import shard_writer
from avsec.metrics.detection import auc, average_f1, best_threshold
from avsec.metrics.text import wer
from avsec.train import Interrupted, load_checkpoint

FRAMES = 9
WORDS = ["low", "mid", "high"]
SENTENCES = ["bin blue at a zero please", "set red in x four now", "lay green with y seven again"]
SMALL = dict(width=0.125, hidden=8, epochs=2, batch=4, lr=0.003, checkpoint_every=0)
SYNC = dict(width=0.125, size=56, embed=16, epochs=1, batch=32, lr=0.001, margin=2.0, min_shift=3, checkpoint_every=0)


def clip(rng, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A tone of frequency class k under a random syllable envelope, and a mouth whose dark opening follows it."""
    t = np.arange(FRAMES * 640) / 16000
    envelope = np.repeat(rng.uniform(0.1, 1.0, FRAMES), 640)
    audio = (8000 * envelope * np.sin(2 * np.pi * (300, 900, 2700)[k] * t)).astype(np.int16)
    video = np.full((FRAMES, 96, 96), 180, np.uint8)
    for f in range(FRAMES):
        half = int(4 + 20 * envelope[f * 640])
        video[f, 48 - half : 48 + half, 28:68] = 40
    return video, audio


@pytest.fixture(scope="module")
def av(tmp_path_factory):
    """results/av/<corpus>-like shards of tone "words" (label = word) in three splits; one test clip has no audio."""
    from avsec.dsp.mfcc import mfcc

    root = tmp_path_factory.mktemp("av")
    rng = np.random.default_rng(0)
    rows = []
    for split, n in (("train", 4), ("val", 1), ("test", 2)):
        for k, word in enumerate(WORDS):
            for i in range(n):
                rows.append((split, k, word, f"{split}/{word}/{i}", *clip(rng, k)))
    with shard_writer(root / "mouths") as mouths, shard_writer(root / "audio" / "wave") as wave:
        with shard_writer(root / "audio" / "mfcc") as coeffs:
            for split, _, word, source, video, audio in rows:
                mouths.add(video, split=split, label=word, source=source)
                if source == "test/high/1":
                    continue  # its audio is missing: skipped with a reason
                wave.add(audio, split=split, label=word, source=source)
                m = mfcc(audio.astype(np.float32)).numpy().astype(np.float16)
                coeffs.add(m, split=split, label=word, source=source)
    return root


@pytest.fixture(scope="module")
def trained(av, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    rec = avdetect.train_recogniser(
        "lrw", av / "mouths", av / "audio", out / "recogniser.pt", out / "recogniser.json", head="word", **SMALL
    )
    sync = avdetect.train_syncnet("lrw", av / "mouths", av / "audio", out / "syncnet.pt", out / "syncnet.json", **SYNC)
    return out, rec, sync


# ---- metrics -----------------------------------------------------------------------------------------------------
def test_wer_counts_word_edits():
    assert wer("bin blue at a zero please", "bin blue at a zero please") == 0
    assert wer("bin blue at a zero please", "bin red at zero please") == pytest.approx(2 / 6)
    assert wer("a b", "a b c d") == 1.0
    assert wer("", "") == 0 and wer("", "x") == 1


def test_detection_scores_on_known_inputs():
    labels = [0, 0, 0, 1, 1, 1]
    assert auc([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels) == 1.0
    assert auc([0.1, 0.8, 0.3, 0.7, 0.2, 0.9], labels) == pytest.approx(6 / 9)  # 6 of 9 pairs ordered
    assert np.isnan(auc([0.1, 0.2], [1, 1]))
    threshold = best_threshold([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels)
    assert 0.3 < threshold <= 0.7
    assert average_f1([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels, threshold) == 1.0
    # everything called adversarial: F1 of the adversarial class 2/3, of the benign class 0
    assert average_f1([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels, 0.0) == pytest.approx(1 / 3)


# ---- attacks -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def word_model():
    torch.manual_seed(0)
    return AVRecogniser(3, head="word", width=0.125, hidden=8).eval()


def batch(n=2, frames=FRAMES):
    torch.manual_seed(1)
    video = torch.rand(n, frames, 96, 96) * 200 + 20
    audio = torch.randn(n, frames * 640) * 3000
    return video, audio


def test_bim_iterations_follow_kurakin():
    assert [bim_iterations(e) for e in (4, 8, 16)] == [5, 10, 20]


def test_fgsm_moves_every_input_by_exactly_eps(word_model):
    video, audio = batch()
    labels = torch.tensor([0, 2])
    adv_v, adv_a = fgsm(word_model, video, audio, labels, eps_video=4, eps_audio=256)
    seen = (adv_v - video)[..., 4:92, 4:92]
    assert torch.allclose(seen.abs(), torch.full_like(seen, 4.0))
    assert torch.allclose((adv_a - audio).abs(), torch.full_like(audio, 256.0))
    assert torch.equal(adv_v[..., :4, :], video[..., :4, :])  # outside the 88×88 crop: no gradient, no change
    before = F.cross_entropy(word_model(video, audio), labels)
    assert F.cross_entropy(word_model(adv_v, adv_a), labels) > before


def test_bim_stays_in_the_eps_ball_and_valid_range(word_model):
    video, audio = batch()
    video[0, 0, 40:50, 40:50] = 254.5  # near the top of the pixel range
    labels = torch.tensor([1, 1])
    adv_v, adv_a = bim(word_model, video, audio, labels, eps_video=8, eps_audio=512)
    assert (adv_v - video).abs().max() <= 8 + 1e-4 and (adv_a - audio).abs().max() <= 512 + 1e-3
    assert adv_v.max() <= 255 and adv_v.min() >= 0
    fast_v, fast_a = fgsm(word_model, video, audio, labels, eps_video=1, eps_audio=64)
    loss = [F.cross_entropy(word_model(v, a), labels) for v, a in ((video, audio), (fast_v, fast_a), (adv_v, adv_a))]
    assert loss[0] < loss[1] < loss[2]  # ten steps of α beat one


def test_attacks_reject_eps_outside_the_valid_range(word_model):
    video, audio = batch()
    with pytest.raises(ConfigError, match="eps_video"):
        fgsm(word_model, video, audio, torch.tensor([0, 0]), eps_video=300, eps_audio=256)
    with pytest.raises(ConfigError, match="eps_audio"):
        bim(word_model, video, audio, torch.tensor([0, 0]), eps_video=4, eps_audio=0)


def test_cw_ctc_moves_towards_the_target_within_its_bound():
    torch.manual_seed(0)
    model = AVRecogniser(28, head="ctc", width=0.125, hidden=8).eval()
    video, audio = batch(n=2, frames=25)
    target = "bin blue at a zero please"

    def ctc(v, a):
        labels = torch.tensor(encode_text(target)).repeat(2, 1)
        lengths = torch.full((2,), labels.shape[1])
        return F.ctc_loss(model(v, a).transpose(0, 1), labels, torch.full((2,), 25), lengths, reduction="none")

    result = cw_ctc(model, video, audio, target, eps_video=4, eps_audio=512, iterations=12, lr_audio=40, lr_video=1)
    assert (ctc(result.full_video, result.full_audio) < ctc(video, audio)).all()
    assert (result.full_video - video).abs().max() <= 4 + 1e-4
    assert (result.full_audio - audio).abs().max() <= 512 + 1e-3
    assert len(result.partial_wer) == 2 and all(w >= 0 for w in result.full_wer)


def test_distortion_in_the_papers_units():
    video = torch.full((1, 2, 10, 10), 100.0)
    audio = torch.zeros(1, 1280)
    audio[0, 5] = 10000
    adv_v = video.clone()
    adv_v[0, :, :, :] += 51  # 0.2 on the [0, 1] scale everywhere
    adv_a = audio + 1000
    d = distortion(video, adv_v, audio, adv_a)
    assert d["l2_video"][0] == pytest.approx(0.2 * 10)  # per 10×10 frame
    assert d["linf_video"][0] == pytest.approx(0.2) and d["linf_video_pixels"][0] == pytest.approx(51)
    assert d["linf_audio_db"][0] == pytest.approx(-20.0)  # 20·log10(1000) − 20·log10(10000)


# ---- data, training, resume --------------------------------------------------------------------------------------
def test_clips_without_audio_are_skipped_with_the_reason(av):
    test = avdetect.load_av(av / "mouths", av / "audio", "test")
    assert len(test) == 5 and "test/high/1" not in test.sources
    assert test.skipped == [{"source": "test/high/1", "reason": "no audio/wave or audio/mfcc row"}]
    assert test.video.dtype == torch.uint8 and test.audio.shape == (5, FRAMES * 640)


def test_missing_prepared_data_is_one_line(tmp_path):
    with pytest.raises(InputError, match="no manifest.tsv"):
        avdetect.load_av(tmp_path / "mouths", tmp_path / "audio", "train")


def test_recogniser_and_syncnet_checkpoints(trained):
    out, rec, sync = trained
    assert rec["clips"] == {"train": 12, "val": 3, "test": 5}
    assert rec["skipped"][0]["source"] == "test/high/1"
    assert rec["history"][-1]["loss"] < rec["history"][0]["loss"]
    model, ckpt = avdetect.load_recogniser(out / "recogniser.pt")
    assert ckpt["classes"] == sorted(WORDS) and model.head == "word"
    assert 0 <= sync["sync_auc"] <= 1 and sync["mismatched_pairs"] == 20
    assert not (out / "recogniser.pt.resume").exists() and not (out / "syncnet.pt.resume").exists()


def test_recogniser_resumes_after_a_signal_to_the_same_weights(av, trained, tmp_path, monkeypatch):
    out, _, _ = trained
    step = avdetect.RecogniserTask.step
    calls = []

    def interrupted(self, batch, epoch):
        calls.append(epoch)
        if len(calls) == 4:  # during epoch 2
            os.kill(os.getpid(), signal.SIGUSR1)
        return step(self, batch, epoch)

    monkeypatch.setattr(avdetect.RecogniserTask, "step", interrupted)
    args = ("lrw", av / "mouths", av / "audio", tmp_path / "r.pt", tmp_path / "r.json")
    with pytest.raises(Interrupted):
        avdetect.train_recogniser(*args, head="word", **SMALL)
    assert (tmp_path / "r.pt.resume").exists() and not (tmp_path / "r.pt").exists()
    monkeypatch.setattr(avdetect.RecogniserTask, "step", step)
    avdetect.train_recogniser(*args, head="word", **SMALL)
    resumed = load_checkpoint(tmp_path / "r.pt", "av_recogniser")["modules"]["model"]
    reference = load_checkpoint(out / "recogniser.pt", "av_recogniser")["modules"]["model"]
    for key, value in reference.items():
        assert torch.equal(resumed[key], value), key


def test_wrong_head_for_the_corpus_is_one_line(av, tmp_path):
    with pytest.raises(ConfigError, match="lrw needs the 'word' head"):
        avdetect.train_recogniser("lrw", av / "mouths", av / "audio", tmp_path / "r.pt", tmp_path / "r.json",
                                  head="ctc", **SMALL)  # fmt: skip


def test_sync_pairs_shift_inside_the_clip(av):
    clips = avdetect.load_av(av / "mouths", av / "audio", "train")
    clip, start, shift, in_sync = avdetect.sync_pairs(clips, min_shift=2, vshift=15, seed=0)
    windows = FRAMES - 4
    assert int(in_sync.sum()) == len(clips) * windows
    negative = in_sync == 0
    assert (shift[negative].abs() >= 2).all() and (shift[in_sync == 1] == 0).all()
    assert ((start + shift) >= 0).all() and ((start + shift) < windows).all()


# ---- attack → detection → report ---------------------------------------------------------------------------------
def test_attack_detect_report(av, trained, tmp_path):
    out, _, _ = trained
    result = avdetect.attack_corpus(
        "fgsm", av / "mouths", av / "audio", out / "recogniser.pt", out / "syncnet.pt", tmp_path / "fgsm.json",
        tmp_path / "examples", eps_audio=[256, 1024], eps_video=[4], examples=1,
    )  # fmt: skip
    assert [s["name"] for s in result["settings"]] == ["fgsm_a1024_v4", "fgsm_a256_v4"]
    test = result["settings"][0]["splits"]["test"]
    assert len(test["confidence"]) == 5 and test["linf_audio_db"][0] < 0
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == ["fgsm_a1024_v4_0.mp4", "fgsm_a256_v4_0.mp4"]
    detection = avdetect.detect("lrw", [tmp_path / "fgsm.json"], tmp_path / "detection.json")
    row = detection["settings"][0]
    assert 0 <= row["auc"] <= 1 and 0 <= row["f1"] <= 1 and "threshold" in row
    assert row["roc"]["fpr"][0] == 0 and row["roc"]["tpr"][-1] == 1
    with pytest.raises(InputError, match="expected 'grid'"):
        avdetect.detect("grid", [tmp_path / "fgsm.json"], tmp_path / "x.json")
    # a report from these results (GRID's rows empty)
    results = tmp_path / "results"
    for corpus in ("lrw", "grid"):
        (results / corpus).mkdir(parents=True)
        for kind in ("recogniser", "syncnet"):
            (results / corpus / f"{kind}.json").write_bytes((out / f"{kind}.json").read_bytes())
        rows = detection if corpus == "lrw" else {"corpus": "grid", "benign": None, "settings": []}
        (results / corpus / "detection.json").write_text(json.dumps(rows))
    write_report(results, tmp_path / "report")
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| FGSM (ε_A=1024, ε_V=4) |" in report and "(15.20%)" in report  # ours beside the paper's
    assert (tmp_path / "report" / "figures" / "roc_lrw.png").stat().st_size > 0


def test_attack_script_reports_a_missing_checkpoint_in_one_line(av, tmp_path):
    cmd = [
        sys.executable, "workflow/scripts/attack_av.py", "--method", "fgsm", "--mouths", str(av / "mouths"),
        "--audio", str(av / "audio"), "--recogniser", str(tmp_path / "none.pt"), "--syncnet", str(tmp_path / "s.pt"),
        "--out", str(tmp_path / "a.json"), "--examples-dir", str(tmp_path / "ex"), "--eps_audio", "256",
        "--eps_video", "4",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'none.pt'}: checkpoint not found"
