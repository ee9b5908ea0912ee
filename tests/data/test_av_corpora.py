"""GRID and LRW readers, clip loading and the audio features on real files: the synthetic corpora in the real
layouts, plus planted defects (missing .align, corrupt video, wrong frame count, no audio track)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.data.av.audio import av_features
from avsec.data.av.corpora import (
    FRAMES,
    AVItem,
    grid_items,
    grid_split,
    load_clip,
    lrw_items,
    read_grid_align,
)
from avsec.data.synth import make_corpus
from avsec.data.synth.grid import ENCODING as GRID_ENCODING
from avsec.data.synth.grid import sentence_id
from avsec.dsp.mfcc import mfcc
from avsec.dsp.stft import log_spectrogram
from avsec.io.audio import read_audio, resample
from avsec.io.video import probe, read_clip, read_video, read_video_audio, write_video

GRID_SIZES = {"speakers": 2, "sentences_per_speaker": 2}
LRW_SIZES = {"words": ("ABOUT", "AGAIN"), "train": 1, "val": 1, "test": 1}
SPF = 640  # 16 kHz samples per 25 fps video frame


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> Path:
    """``<tmp>/GRID`` and ``<tmp>/LRW``, generated once for the module (read-only for the tests)."""
    root = tmp_path_factory.mktemp("av")
    make_corpus("grid", root / "GRID", seed=11, sizes=GRID_SIZES)
    make_corpus("lrw", root / "LRW", seed=11, sizes=LRW_SIZES)
    return root


@pytest.fixture
def grid_copy(corpora, tmp_path) -> Path:
    return Path(shutil.copytree(corpora / "GRID", tmp_path / "GRID"))


@pytest.fixture
def lrw_copy(corpora, tmp_path) -> Path:
    return Path(shutil.copytree(corpora / "LRW", tmp_path / "LRW"))


# --- GRID reader -------------------------------------------------------------------------------------------


def test_grid_items(corpora):
    items, rejects = grid_items(corpora / "GRID")
    assert rejects == [] and len(items) == 4 and items == sorted(items)
    for item in items:
        spk, uid = item.uid.split("/")
        assert item.source == f"{spk}/video/mpg_6000/{uid}.mpg" and item.path == corpora / "GRID" / item.source
        words = item.label.split()
        assert len(words) == 6 and not {"sil", "sp"} & set(words) and item.text == item.label
        assert sentence_id(tuple(words)) == uid  # the id's letters are the sentence's
        spans = read_grid_align(corpora / "GRID" / spk / "align" / f"{uid}.align")
        assert item.duration == pytest.approx((spans[-1][1] - spans[0][0]) / 25000) and 0.5 < item.duration < 3.0
        assert item.split == "" and item.audio_path is None
    # the root may be one level above, and the listing is the same whatever the root
    above, _ = grid_items(corpora)
    assert [i.uid for i in above] == [i.uid for i in items] and above[0].source == "GRID/" + items[0].source


def test_grid_wav_audio_paths(corpora):
    items, rejects = grid_items(corpora / "GRID", audio="wav")
    assert rejects == []
    for item in items:
        spk, uid = item.uid.split("/")
        assert item.audio_path == corpora / "GRID" / "audio_25k" / spk / f"{uid}.wav"
    with pytest.raises(ConfigError, match="audio"):
        grid_items(corpora / "GRID", audio="mp3")


def test_grid_missing_align_is_a_reject(grid_copy):
    gone = sorted(grid_copy.glob("s2/align/*.align"))[0]
    gone.unlink()
    sorted(grid_copy.glob("s1/align/*.align"))[0].write_text("0 9000 sil\n")  # no words
    items, rejects = grid_items(grid_copy)
    assert len(items) == 2
    reasons = dict(rejects)
    missing = f"s2/video/mpg_6000/{gone.stem}.mpg"
    assert "no alignment file" in reasons[missing] and f"s2/align/{gone.stem}.align" in reasons[missing]
    assert any("no words" in r for r in reasons.values())
    # a missing WAV is a reject only when the audio comes from the WAVs
    sorted(grid_copy.glob("audio_25k/s1/*.wav"))[1].unlink()
    assert len(grid_items(grid_copy, audio="video")[0]) == 2
    items, rejects = grid_items(grid_copy, audio="wav")
    assert len(items) == 1 and sum("no 25 kHz WAV" in r for _, r in rejects) == 1


def test_grid_zenodo_layout(corpora, grid_copy):
    expected, _ = grid_items(corpora / "GRID")
    for spk in ("s1", "s2"):
        for video in (grid_copy / spk / "video" / "mpg_6000").glob("*.mpg"):
            video.rename(grid_copy / spk / video.name)
        shutil.rmtree(grid_copy / spk / "video")
        (grid_copy / "alignments").mkdir(exist_ok=True)
        (grid_copy / spk / "align").rename(grid_copy / "alignments" / spk)
    items, rejects = grid_items(grid_copy)
    assert rejects == []
    assert [(i.uid, i.label, i.duration) for i in items] == [(i.uid, i.label, i.duration) for i in expected]
    assert items[0].source == f"{items[0].uid}.mpg"


def test_grid_split(corpora):
    items, _ = grid_items(corpora / "GRID")
    split = grid_split(items, train=["s1"], val=[], test=[2])
    assert [i.split for i in split] == ["train", "train", "test", "test"]
    assert [i.split for i in grid_split(items, train=["1"], val=[], test=[])] == ["train", "train"]
    with pytest.raises(ConfigError, match="s1 is listed twice"):
        grid_split(items, train=["s1"], val=["s01"], test=[])
    with pytest.raises(ConfigError, match="not a GRID speaker"):
        grid_split(items, train=["speaker1"], val=[], test=[])
    with pytest.raises(ConfigError, match="none of the configured"):
        grid_split(items, train=["s7"], val=[], test=[])


def _grid_manifest(sentences: dict[str, list[str]]) -> list[AVItem]:
    """GRID items of known speakers and sentence ids (no files: grid_split reads only uid)."""
    return [
        AVItem(source=f"{spk}/video/mpg_6000/{uid}.mpg", path=Path(spk, uid), uid=f"{spk}/{uid}", label=uid)
        for spk, uids in sentences.items()
        for uid in uids
    ]


def _by_split(items: list[AVItem]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {"train": set(), "val": set(), "test": set()}
    for item in items:
        out[item.split].add(tuple(item.uid.split("/")))
    return out


def test_grid_split_by_sentences_puts_every_speaker_in_every_split():
    shared = ["bbaa1n", "lgib2s", "prwz9p"]  # said by all three speakers: one split for all of them
    sentences = {f"s{k}": shared + [f"s{k}x{j:02d}" for j in range(2 + 5 * k)] for k in (1, 2, 3)}
    sentences["s9"] = [f"s9x{j:02d}" for j in range(5)]  # not listed: left out
    items = _grid_manifest(sentences)
    split = grid_split(
        items, train=["s1"], val=[], test=["s2", 3], split_by="sentences", sentence_fractions=[3, 1, 1], split_seed=7
    )
    assert {i.uid.split("/")[0] for i in split} == {"s1", "s2", "s3"}
    parts = _by_split(split)
    for name, pairs in parts.items():
        assert {spk for spk, _ in pairs} == {"s1", "s2", "s3"}, name  # every speaker in each split
    owners: dict[str, set[str]] = {}
    for name, pairs in parts.items():
        for _, uid in pairs:
            owners.setdefault(uid, set()).add(name)
    assert all(len(names) == 1 for names in owners.values())  # no sentence in two splits
    assert set(owners) == {uid for spk in ("s1", "s2", "s3") for uid in sentences[spk]}
    # s1 (10 sentences) gets round(10 x 3/5, 1/5, 1/5) = 6/2/2, the shared ones included
    assert [sum(spk == "s1" for spk, _ in parts[name]) for name in ("train", "val", "test")] == [6, 2, 2]
    # the split of a clip depends on the seed, not on the items' order
    options = {"split_by": "sentences", "sentence_fractions": [0.6, 0.2, 0.2], "split_seed": 7}
    again = grid_split(items[::-1], train=[1], val=[2], test=[3], **options)
    assert [(i.uid, i.split) for i in again] == [(i.uid, i.split) for i in split]
    other = grid_split(
        items, train=[1, 2, 3], val=[], test=[], split_by="sentences", sentence_fractions=[3, 1, 1], split_seed=8
    )
    assert [i.split for i in other] != [i.split for i in split]


def test_grid_split_by_sentences_errors():
    items = _grid_manifest({"s1": ["a1", "a2", "a3", "a4"], "s2": ["b1", "b2"]})
    options = {"train": ["s1"], "val": [], "test": [], "split_by": "sentences", "split_seed": 0}
    assert {i.split for i in grid_split(items, sentence_fractions=[2, 1, 1], **options)} == {"train", "val", "test"}
    with pytest.raises(ConfigError, match="s2 has 2 sentences: too few"):
        grid_split(items, sentence_fractions=[2, 1, 1], **{**options, "test": ["s2"]})
    with pytest.raises(ConfigError, match="3 positive numbers"):
        grid_split(items, sentence_fractions=[0.8, 0.2], **options)
    with pytest.raises(ConfigError, match="3 positive numbers"):
        grid_split(items, sentence_fractions=[0.8, 0.2, 0], **options)
    with pytest.raises(ConfigError, match="split_by must be one of speakers, sentences"):
        grid_split(items, sentence_fractions=[2, 1, 1], **{**options, "split_by": "clips"})
    # s1 says the only sentences of s2's, which s1 places first (s1 first in number order): s2 lacks a split
    items = _grid_manifest({"s1": ["a1", "a2", "a3", "a4", "a5", "a6"], "s2": ["a1", "a2", "a3"]})
    with pytest.raises(ConfigError, match="speaker s2 has no"):
        grid_split(items, sentence_fractions=[4, 1, 1], **{**options, "val": ["s2"]})


def test_missing_or_empty_roots(tmp_path):
    with pytest.raises(InputError, match="nowhere"):
        grid_items(tmp_path / "nowhere")
    with pytest.raises(InputError, match=re.escape(str(tmp_path))):
        grid_items(tmp_path)
    with pytest.raises(InputError, match=re.escape(str(tmp_path))):
        lrw_items(tmp_path)


# --- LRW reader --------------------------------------------------------------------------------------------


def test_lrw_items(corpora):
    items, rejects = lrw_items(corpora / "LRW")
    assert rejects == [] and len(items) == 6 and items == sorted(items)
    assert {(i.label, i.split) for i in items} == {(w, s) for w in ("ABOUT", "AGAIN") for s in ("train", "val", "test")}
    for item in items:
        assert item.source == f"lipread_mp4/{item.uid}.mp4" and item.uid.startswith(f"{item.label}/{item.split}/")
        txt = item.path.with_suffix(".txt").read_text()
        assert f"Duration: {item.duration:.2f} seconds" in txt and 0.1 < item.duration < 1.16
    # root = lipread_mp4 itself
    inner, _ = lrw_items(corpora / "LRW" / "lipread_mp4")
    assert [i.uid for i in inner] == [i.uid for i in items] and inner[0].source == items[0].uid + ".mp4"


def test_lrw_metadata_rejects(lrw_copy):
    base = lrw_copy / "lipread_mp4"
    (base / "ABOUT/train/ABOUT_00001.txt").unlink()
    (base / "ABOUT/val/ABOUT_00001.txt").write_text("Text:  ABOUT\nConf:  3\n")
    (base / "AGAIN/val/AGAIN_00001.txt").write_text("Duration: 0.42 seconds\nText:  AGAIN\n")  # moved line: fine
    items, rejects = lrw_items(lrw_copy)
    assert len(items) == 4 and next(i for i in items if i.uid == "AGAIN/val/AGAIN_00001").duration == 0.42
    reasons = dict(rejects)
    assert "metadata file not found" in reasons["lipread_mp4/ABOUT/train/ABOUT_00001.mp4"]
    assert "no 'Duration: X seconds' line" in reasons["lipread_mp4/ABOUT/val/ABOUT_00001.mp4"]


# --- clips -------------------------------------------------------------------------------------------------


def test_grid_clip_both_audio_sources_agree(corpora):
    from_video, _ = grid_items(corpora / "GRID", audio="video")
    from_wav, _ = grid_items(corpora / "GRID", audio="wav")
    for a, b in zip(from_video[:2], from_wav[:2], strict=True):
        video, audio = load_clip(a, frames=FRAMES["grid"])
        video_b, audio_b = load_clip(b, frames=FRAMES["grid"])
        assert video.shape == (75, 288, 360, 3) and video.dtype == np.uint8 and np.array_equal(video, video_b)
        assert audio.shape == audio_b.shape == (75 * SPF,) and audio.dtype == audio_b.dtype == np.int16
        wav, rate = read_audio(b.audio_path)
        assert np.array_equal(audio_b, resample(wav, rate, 16000)[: 75 * SPF])
        assert np.corrcoef(audio.astype(float), audio_b.astype(float))[0, 1] > 0.9


def test_lrw_clip(corpora):
    items, _ = lrw_items(corpora / "LRW")
    video, audio = load_clip(items[0], frames=FRAMES["lrw"])
    assert video.shape == (29, 256, 256, 3) and video.dtype == np.uint8
    assert audio.shape == (29 * SPF,) and audio.dtype == np.int16 and np.abs(audio).max() > 1000


def test_corrupt_video(corpora, tmp_path):
    items, _ = lrw_items(corpora / "LRW")
    bad = tmp_path / "ABOUT_00001.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    with pytest.raises(InputError, match=re.escape(str(bad))):
        load_clip(dataclasses.replace(items[0], path=bad), frames=29)


def test_wrong_frame_count(corpora, tmp_path):
    item = grid_items(corpora / "GRID")[0][0]
    frames, fps = read_video(item.path)
    _, full_audio = load_clip(item, frames=75)
    short = tmp_path / "short.mpg"
    write_video(short, frames[:70], fps, full_audio[: 70 * SPF], 16000, **GRID_ENCODING)
    assert (
        int(next(s for s in probe(short, count_frames=True)["streams"] if s["codec_type"] == "video")["nb_read_frames"])
        == 70
    )
    clip = dataclasses.replace(item, path=short)
    video, audio = load_clip(clip, frames=75, fix="pad")
    assert video.shape[0] == 75 and (video[70:] == video[69]).all() and audio.shape == (75 * SPF,)
    for fix in ("reject", "trim"):
        with pytest.raises(InputError, match=rf"{re.escape(str(short))}: 70 frames, expected 75"):
            load_clip(clip, frames=75, fix=fix)
    # too many frames: trimmed at the end by "trim" and "pad", rejected by "reject" or beyond the tolerance
    video, audio = load_clip(item, frames=72, fix="trim")
    assert np.array_equal(video, frames[:72]) and np.array_equal(audio, full_audio[: 72 * SPF])
    with pytest.raises(InputError, match="75 frames, expected 72"):
        load_clip(item, frames=72, fix="reject")
    with pytest.raises(InputError, match="more than 5 off"):
        load_clip(item, frames=29)


def test_no_audio_track(corpora, tmp_path):
    lrw = lrw_items(corpora / "LRW")[0][0]
    silent = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(lrw.path), "-an", "-c:v", "copy", str(silent)], check=True)
    with pytest.raises(InputError, match=rf"{re.escape(str(silent))}: no audio track"):
        load_clip(dataclasses.replace(lrw, path=silent), frames=29)
    # a GRID video without sound is fine when the audio comes from the WAV
    grid = grid_items(corpora / "GRID", audio="wav")[0][0]
    mute = tmp_path / "mute.mpg"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(grid.path), "-an", "-c:v", "copy", str(mute)], check=True)
    video, audio = load_clip(dataclasses.replace(grid, path=mute), frames=75)
    assert video.shape[0] == 75 and audio.shape == (75 * SPF,)
    with pytest.raises(InputError, match="no audio track"):
        load_clip(AVItem(source="mute.mpg", path=mute, uid="s1/x", label=""), frames=75)


# --- audio features ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(corpora) -> list[tuple[np.ndarray, int]]:
    """(audio, frames) of every synthetic clip."""
    grid = [(load_clip(i, frames=75)[1], 75) for i in grid_items(corpora / "GRID")[0]]
    return grid + [(load_clip(i, frames=29)[1], 29) for i in lrw_items(corpora / "LRW")[0]]


def test_mfcc_shape_and_energy(clips):
    energy, loudness, step_energy, window_energy = [], [], [], []
    for audio, frames in clips:
        m = mfcc(audio)
        assert m.shape == (13, 4 * frames) and m.dtype == torch.float32 and torch.isfinite(m).all()
        # c0 is the log frame energy: per video frame it follows the audio's RMS
        energy += torch.logsumexp(m[0].reshape(frames, 4), dim=1).tolist()
        loudness += np.log(np.sqrt((audio.astype(float).reshape(frames, SPF) ** 2).mean(1)) + 1).tolist()
        # without pre-emphasis it is the log energy of each 400-sample window, exactly
        step_energy += mfcc(audio, preemphasis=0)[0].tolist()
        padded = np.concatenate([audio.astype(float), np.zeros(240)])
        window_energy += [np.log(np.sum(padded[160 * k : 160 * k + 400] ** 2) + 1) for k in range(4 * frames)]
    assert np.corrcoef(energy, loudness)[0, 1] > 0.8
    assert np.corrcoef(step_energy, window_energy)[0, 1] > 0.999


def test_features_are_differentiable(clips):
    audio = torch.tensor(clips[0][0][: 5 * SPF], dtype=torch.float32, requires_grad=True)
    loss = mfcc(audio).square().mean() + log_spectrogram(audio, n_fft=512, hop=160, win_length=400).mean()
    loss.backward()
    assert torch.isfinite(audio.grad).all() and audio.grad.abs().sum() > 0
    batch = torch.stack([audio.detach(), audio.detach().flip(0)])
    assert mfcc(batch).shape == (2, 13, 20) and torch.allclose(mfcc(batch)[0], mfcc(audio.detach()))


def test_av_features(clips):
    audio, frames = clips[0]
    out = av_features(audio, frames, {"logspec": {"n_fft": 256, "hop": 128, "win_length": 256}})
    assert out["mfcc"].shape == (13, 4 * frames) and out["mfcc"].dtype == np.float16
    assert out["logspec"].shape == (129, len(audio) // 128 + 1) and out["logspec"].dtype == np.float16
    assert all(np.isfinite(v).all() for v in out.values())
    assert np.allclose(out["mfcc"], mfcc(audio).numpy(), atol=0.05, rtol=1e-3)
    assert av_features(audio, frames)["logspec"].shape == (257, len(audio) // 160 + 1)
    with pytest.raises(ValueError, match="int16 samples"):
        av_features(audio[:-1], frames)
    with pytest.raises(ConfigError, match="hop"):
        av_features(audio, frames, {"mfcc": {"hop": 200}})
    with pytest.raises(ConfigError, match="n_filters"):
        av_features(audio, frames, {"mfcc": {"n_filters": 40}})


def test_read_clip_matches_separate_reads(corpora):
    for item in (grid_items(corpora / "GRID")[0][0], lrw_items(corpora / "LRW")[0][0]):
        frames, fps, audio = read_clip(item.path)
        alone, alone_fps = read_video(item.path)
        assert np.array_equal(frames, alone) and fps == alone_fps == 25
        assert np.array_equal(audio, read_video_audio(item.path))
        assert read_clip(item.path, audio=False)[2] is None
