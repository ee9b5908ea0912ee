"""Paper 1's security experiment (Table 4) on tiny in-test shards, for a classic baseline and for the GAN."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import avsec.stego.security as security
from avsec.core.errors import ConfigError
from avsec.io.audio import INT16_SCALE
from avsec.io.shards import shard_writer
from avsec.metrics.audio import snr_db
from avsec.stego.classic import embed
from avsec.stego.clips import audio_rows, derangement, load_audio
from avsec.stego.codec import hide, load_stego, quantize, spectrogram
from avsec.stego.evaluate import finite_mean
from avsec.stego.nets import Steganalyzer
from avsec.stego.rich_model import batched_features, rich_features, rich_model_accuracy
from avsec.stego.security import Carriers, DetectorTask, Steganalysis, predict_stego, steganalysis
from avsec.train import TrainSettings, fit


def test_security_experiment_for_a_baseline_and_for_the_gan(data, model, tiny, tmp_path):
    lsb = steganalysis("lsb_matching", data, tmp_path / "lsb.json", tiny.steganalysis(bits_per_sample=1.0))
    assert lsb["carriers"] == 6 and lsb["train_clips"] == 6 and lsb["val_clips"] == 6
    assert lsb["stego_snr_db"] > 40  # ±1 changes are far below the signal
    gan = steganalysis("gan", data, tmp_path / "gan.json", tiny.steganalysis(), model=model[0])
    assert gan["run"] == "hpf_an" and gan["payload_bits_per_sample"] == 16
    assert json.loads((tmp_path / "gan.json").read_text())["method"] == "gan"
    with pytest.raises(ConfigError, match="--model"):
        steganalysis("gan", data, tmp_path / "x.json", tiny.steganalysis())
    with pytest.raises(ConfigError, match="unknown setting"):
        steganalysis("echo_hiding", data, tmp_path / "x.json", tiny.steganalysis(segment=512, delay=3))


def clean_tones(n: int, length: int, seed: int = 0) -> np.ndarray:
    """``n`` voiced-like clips without noise: the ±1 changes of LSB matching are the only noise in the stego clips."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 16000
    rows = []
    for _ in range(n):
        f0 = rng.uniform(100, 300)
        x = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
        rows.append(0.2 * x * np.hanning(length))
    return np.stack(rows)


def test_the_rich_model_tells_lsb_matching_from_clean_audio(tmp_path, tiny):
    """On carriers without noise, one bit per sample of LSB matching is plain to the rich model's residuals: the
    experiment's rich-model accuracy on 24 held-out clips (12 carriers, 12 stego) is at least 90 %. A steganalyzer
    that ignored its input would score about 50 %."""
    root = tmp_path / "prep"
    with shard_writer(root) as writer:
        for i, x in enumerate(clean_tones(24, tiny.length)):
            writer.add((x * 32767).astype(np.int16), split="test", label=f"S{i}", source=f"test/{i}.wav")
    settings = replace(tiny.steganalysis(bits_per_sample=1.0), clips=24, device="cpu")
    result = steganalysis("lsb_matching", root, tmp_path / "lsb.json", settings)
    assert result["val_clips"] == 24
    assert result["rich_model_accuracy"] >= 0.9, result


def test_the_cnn_steganalyzer_learns_from_its_input(tiny, tmp_path):
    """The CNN steganalyzer as the experiment trains and applies it (DetectorTask, fit, predict_stego) tells clean
    clips from the same clips with noise 20 dB below them on held-out clips (>= 90 %, chance 50 %)."""
    rng = np.random.default_rng(1)
    covers = clean_tones(24, tiny.length)
    stegos = covers + 0.02 * rng.standard_normal(covers.shape)
    x = torch.from_numpy((np.concatenate([covers, stegos]) * 32767).astype(np.int16))
    y = torch.arange(48) // 24
    order = torch.from_numpy(rng.permutation(48))
    train, val = order[:24], order[24:]
    spec = spectrogram(**tiny.stft, window="hann", kind="complex")
    torch.manual_seed(0)
    cnn = Steganalyzer("hpf", 0.125)
    settings = TrainSettings(20, 4, 0, "cpu", checkpoint_every=0)
    fit(DetectorTask(cnn, spec, lr=3e-3), (x[train], y[train]), settings, tmp_path / "cnn.resume", desc="cnn")
    accuracy = (predict_stego(cnn, spec, x[val], 8, torch.device("cpu")) == y[val]).float().mean().item()
    assert accuracy >= 0.9


def test_flags_the_settings_do_not_know_are_the_embedding_settings_in_their_order():
    flags = {"n_fft": 510, "hop": 128, "segment": 1024, "delays": [48, 64], "clips": 6, "amplitude": 0.5}
    settings = Steganalysis.from_flags(flags, "security_baseline_stego")
    assert (settings.n_fft, settings.hop, settings.clips) == (510, 128, 6)
    assert list(settings.embedding.items()) == [("segment", 1024), ("delays", [48, 64]), ("amplitude", 0.5)]
    with pytest.raises(ConfigError, match="security_stego: missing setting"):
        Steganalysis.from_flags({"n_fft": 510}, "security_stego")


def stacked(method, data, s: Steganalysis, model, resume) -> dict:
    """The experiment as it ran before it streamed: the test split stacked in memory, the halves stacked by
    torch.cat, the steganalyzers trained and scored on those tensors."""
    rng = np.random.default_rng(s.seed)
    audio = load_audio(data, "test", crop=s.crop)
    covers = audio[torch.from_numpy(np.sort(rng.permutation(len(audio))[: s.clips or len(audio)]))]
    n = len(covers)
    partner = derangement(n, rng)
    if method == "gan":
        encoder, _, gan_spec, _ = load_stego(model)
        carrier = covers.float() / INT16_SCALE
        stegos = quantize(
            hide(encoder, gan_spec, carrier, carrier[torch.from_numpy(partner)], s.batch, torch.device("cpu"))
        )
    else:
        parts = [embed(method, covers[i].numpy(), covers[partner[i]].numpy(), rng, **s.embedding) for i in range(n)]
        stegos = torch.from_numpy(np.stack(parts))
    order = rng.permutation(n)
    sets = []
    for half in (order[: n // 2], order[n // 2 :]):
        idx = torch.from_numpy(np.sort(half))
        sets.append((torch.cat([covers[idx], stegos[idx]]), torch.arange(2 * len(idx)) // len(idx)))
    (x_train, y_train), (x_val, y_val) = sets
    rich = rich_model_accuracy(x_train.numpy(), y_train.numpy(), x_val.numpy(), y_val.numpy(),
                               estimators=s.estimators, seed=s.seed, batch=len(x_train) + len(x_val))  # fmt: skip
    spec = spectrogram(s.n_fft, s.hop, s.win_length, s.window, s.kind)
    torch.manual_seed(s.seed)
    cnn = Steganalyzer(s.analyzer, s.width)
    trainer = TrainSettings(s.epochs, s.batch, s.seed, "cpu", checkpoint_every=0)
    history = fit(DetectorTask(cnn, spec, lr=s.lr), (x_train, y_train), trainer, resume, desc="stacked")
    cnn_acc = float((predict_stego(cnn, spec, x_val, s.batch, torch.device("cpu")) == y_val).float().mean())
    snr = finite_mean(snr_db(covers.double().numpy(), stegos.double().numpy()))
    return {"stegos": stegos, "rich": rich, "cnn": cnn_acc, "history": history, "snr": snr, "state": cnn.state_dict()}


@pytest.mark.parametrize("method", ["lsb_matching", "gan"])
def test_the_streamed_experiment_gives_what_the_stacked_split_gave(method, data, model, tiny, tmp_path, monkeypatch):
    """Stego audio, rich-model and CNN accuracy, the CNN's history and weights, and the SNR, bit for bit: with
    batch 4 the halves (3 carriers + 3 stego clips each) are read in batches that mix both kinds."""
    settings = replace(tiny.steganalysis(**({} if method == "gan" else {"bits_per_sample": 1.0})), device="cpu",
                       epochs=2)  # fmt: skip
    checkpoint = model[0] if method == "gan" else None
    seen = {}
    write_stego, predict = security.write_stego, security.predict_stego

    def keep_stegos(*args):
        stegos, snr = write_stego(*args)
        seen["stegos"] = torch.from_numpy(np.array(stegos))
        return stegos, snr

    def keep_state(cnn, *args):
        seen["state"] = {k: v.clone() for k, v in cnn.state_dict().items()}
        return predict(cnn, *args)

    monkeypatch.setattr(security, "write_stego", keep_stegos)
    monkeypatch.setattr(security, "predict_stego", keep_state)
    out = tmp_path / "out" / f"{method}.json"
    streamed = steganalysis(method, data, out, settings, model=checkpoint)
    reference = stacked(method, data, settings, checkpoint, tmp_path / "stacked.resume")
    assert torch.equal(seen["stegos"], reference["stegos"])
    assert streamed["rich_model_accuracy"] == reference["rich"] and streamed["cnn_accuracy"] == reference["cnn"]
    assert streamed["cnn_history"] == reference["history"] and streamed["stego_snr_db"] == reference["snr"]
    assert all(torch.equal(seen["state"][k], v) for k, v in reference["state"].items())
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # the stego audio's file is gone


def test_carriers_read_the_rows_the_stacked_halves_hold_and_features_do_not_depend_on_the_batch(data):
    test = audio_rows(data, "test")
    covers = test[:]
    stegos = (covers.numpy() // 2).astype(np.int16)
    clips = np.array([0, 2, 5])
    rows = Carriers(test, stegos, clips)
    whole = torch.cat([covers[clips], torch.from_numpy(stegos[clips])])
    assert len(rows) == 6 and torch.equal(rows[:], whole) and torch.equal(rows[4], whole[4])
    assert torch.equal(rows[1:5], whole[1:5]) and torch.equal(rows[torch.tensor([5, 0, 3])], whole[[5, 0, 3]])
    x, y = rows.__getitems__([4, 1, 3])
    assert torch.equal(x, whole[[4, 1, 3]]) and y.tolist() == [1, 0, 1]
    for batch in (1, 4, 6):
        assert np.array_equal(batched_features(rows, batch=batch), rich_features(whole.numpy()))
