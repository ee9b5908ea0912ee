"""Synthetic GRID and LRW: real layouts and formats (checked with the real ffmpeg/ffprobe), determinism,
measurable audio-visual synchrony, and the video I/O module's round trips and errors."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from avsec.core.errors import InputError
from avsec.data.av.landmarks.precomputed import read_landmarks
from avsec.data.synth import make_corpus
from avsec.data.synth.grid import ADVERBS, COLOURS, COMMANDS, DIGITS, LETTERS, PREPOSITIONS, sentence_id
from avsec.io.audio import read_audio
from avsec.io.video import probe, read_video, read_video_audio, write_video

GRID_SIZES = {"speakers": 2, "sentences_per_speaker": 2}
LRW_SIZES = {"words": ("ABOUT", "AGAIN"), "train": 2, "val": 1, "test": 1}


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("grid") / "GRID"
    make_corpus("grid", root, seed=7, sizes=GRID_SIZES)
    return root


@pytest.fixture(scope="module")
def lrw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lrw") / "LRW"
    make_corpus("lrw", root, seed=7, sizes=LRW_SIZES)
    return root


# --- GRID ----------------------------------------------------------------------------------------------------

GRID_ID = r"[blps][bgrw][abiw][a-vx-z][0-9][anps]"


def test_grid_layout(grid):
    files = _files(grid)
    pattern = re.compile(
        rf"^(s(?P<s1>\d+)/video/mpg_6000/(?P<v>{GRID_ID})\.mpg"
        rf"|s(?P<s2>\d+)/align/(?P<a>{GRID_ID})\.align"
        rf"|audio_25k/s(?P<s3>\d+)/(?P<w>{GRID_ID})\.wav"
        rf"|GRID_landmarks/s\d+/video/mpg_6000/{GRID_ID}\.npz)$"  # ground truth beside the corpus
    )
    assert files and all(pattern.match(f) for f in files), files
    ids = {(m["s1"], m["v"]) for m in map(pattern.match, files) if m["v"]}
    assert len(ids) == 4 and {s for s, _ in ids} == {"1", "2"}
    for spk, uid in ids:
        assert (grid / f"s{spk}/align/{uid}.align").is_file() and (grid / f"audio_25k/s{spk}/{uid}.wav").is_file()


def test_grid_video_format(grid):
    for path in sorted(grid.glob("s*/video/mpg_6000/*.mpg")):
        info = probe(path, count_frames=True)
        assert info["format"]["format_name"] == "mpeg"  # MPEG program stream
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert video["codec_name"] in ("mpeg1video", "mpeg2video")
        assert (video["width"], video["height"]) == (360, 288)
        assert video["avg_frame_rate"] == "25/1" and int(video["nb_read_frames"]) == 75
        assert audio["codec_name"] == "mp2"


def test_grid_align_and_audio(grid):
    grammar = (COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS)
    for align in sorted(grid.glob("s*/align/*.align")):
        rows = [line.split() for line in align.read_text().splitlines()]
        assert all(len(r) == 3 and r[0].isdigit() and r[1].isdigit() for r in rows)
        spans = [(int(a), int(b), w) for a, b, w in rows]
        assert spans[0][0] == 0 and spans[0][2] == "sil" and spans[-1][2] == "sil"
        assert all(a < b for a, b, _ in spans)
        assert all(prev[1] == cur[0] for prev, cur in zip(spans, spans[1:], strict=False))  # in order, no gaps
        assert 74000 <= spans[-1][1] <= 75000 and -(-spans[-1][1] // 1000) == 75  # 1000 units per frame
        words = tuple(w for _, _, w in spans if w not in ("sil", "sp"))
        assert all(w in group for w, group in zip(words, grammar, strict=True)) and len(words) == 6
        assert sentence_id(words) == align.stem
        wav = grid / "audio_25k" / align.parent.parent.name / f"{align.stem}.wav"
        assert sf.info(str(wav)).subtype == "PCM_16"
        audio, rate = read_audio(wav, expect_rate=25000)
        assert len(audio) == 75000
        # the GRID time unit is one 25 kHz sample: words are loud, the leading silence is not
        power = [np.mean(audio[a:b].astype(float) ** 2) for a, b, w in spans if w not in ("sil", "sp")]
        assert 10 * np.log10(min(power) / np.mean(audio[: spans[0][1]].astype(float) ** 2)) > 10


# --- LRW -----------------------------------------------------------------------------------------------------


def test_lrw_layout(lrw):
    files = _files(lrw)
    pattern = re.compile(
        r"^(lipread_mp4/(?P<word>[A-Z]+)/(?P<split>train|val|test)/(?P=word)_(?P<n>\d{5})\.(mp4|txt)"
        r"|LRW_landmarks/(?P<w>[A-Z]+)/(train|val|test)/(?P=w)_\d{5}\.npz)$"  # ground truth beside the corpus
    )
    assert files and all(pattern.match(f) for f in files), files
    for word in LRW_SIZES["words"]:
        for split in ("train", "val", "test"):
            stems = sorted(p.stem for p in (lrw / "lipread_mp4" / word / split).glob("*.mp4"))
            expected = [f"{word}_{n:05d}" for n in range(1, LRW_SIZES[split] + 1)]
            assert stems == expected
            assert sorted(p.stem for p in (lrw / "lipread_mp4" / word / split).glob("*.txt")) == expected


def test_lrw_video_format(lrw):
    for path in sorted(lrw.glob("lipread_mp4/*/*/*.mp4")):
        info = probe(path, count_frames=True)
        assert "mp4" in info["format"]["format_name"]
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
        assert (video["width"], video["height"]) == (256, 256)
        assert video["avg_frame_rate"] == "25/1" and int(video["nb_read_frames"]) == 29
        assert audio["codec_name"] == "aac" and audio["channels"] == 1


def test_lrw_metadata_duration_on_line_5(lrw):
    for txt in sorted(lrw.glob("lipread_mp4/*/*/*.txt")):
        lines = txt.read_text().splitlines()
        assert lines[0] == f"Text:  {txt.parent.parent.name}"
        duration = float(lines[4].split(" ")[1])  # how public LRW loaders read it (line 5, "Duration: 0.42 seconds")
        assert lines[4] == f"Duration: {duration:.2f} seconds" and lines[-1] == lines[4]
        assert 0.1 < duration < 1.16


def test_lrw_recurring_speakers_share_a_face_across_words_and_splits(lrw, tmp_path):
    """speakers=1: every clip (any word, any split) shows the same face in the same place (the eyes' landmarks,
    which the mouth does not move, agree); the default draws a new speaker per clip, so they differ."""
    make_corpus("lrw", tmp_path, seed=7, sizes={**LRW_SIZES, "train": 1, "test": 0, "speakers": 1})
    names = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("LRW_landmarks/*/*/*.npz"))
    assert len(names) == 4  # 2 words x (1 train + 1 val)
    shared = [read_landmarks(tmp_path / name)[:, 36:48] for name in names]
    assert all(np.allclose(eyes, shared[0], atol=1e-3) for eyes in shared[1:])
    own = [read_landmarks(lrw / name)[:, 36:48] for name in names]  # the same clips, a new speaker each
    assert not any(np.allclose(eyes, own[0], atol=1.0) for eyes in own[1:])


# --- both ----------------------------------------------------------------------------------------------------


def test_same_seed_same_bytes(grid, lrw, tmp_path):
    """A second run (smaller sizes: the first speaker / word only) gives byte-identical files; another seed not."""
    make_corpus("grid", tmp_path / "g", seed=7, sizes={"speakers": 1, "sentences_per_speaker": 2})
    make_corpus("lrw", tmp_path / "l", seed=7, sizes={"words": ("ABOUT",), "train": 2, "val": 1, "test": 1})
    for again, first in ((tmp_path / "g", grid), (tmp_path / "l", lrw)):
        names = _files(again)
        assert names and set(names) <= set(_files(first))
        assert all((again / n).read_bytes() == (first / n).read_bytes() for n in names)
    make_corpus("lrw", tmp_path / "other", seed=8, sizes={"words": ("ABOUT",), "train": 1, "val": 0, "test": 0})
    name = "lipread_mp4/ABOUT/train/ABOUT_00001.mp4"
    assert (tmp_path / "other" / name).read_bytes() != (lrw / name).read_bytes()


def _sync(path: Path, shifts=range(-8, 9)) -> dict[int, float]:
    """Correlation between the mouth's darkness and the audio level per frame, with the video shifted by k frames.

    The mouth is found from the video alone: the pixels whose brightness varies most over the clip.
    """
    frames, fps = read_video(path)
    audio = read_video_audio(path, 16000).astype(np.float64)
    grey = frames.astype(np.float64).mean(axis=3)
    std = grey.std(axis=0)
    mouth = -grey[:, std >= np.quantile(std, 0.995)].mean(axis=1)
    hop = round(16000 / fps)
    n = min(len(frames), len(audio) // hop)
    level = 20 * np.log10(np.sqrt([np.mean(audio[i * hop : (i + 1) * hop] ** 2) for i in range(n)]) + 1.0)
    mouth = mouth[:n]
    out = {}
    for k in shifts:
        v, a = (mouth[k:], level[: n - k]) if k >= 0 else (mouth[: n + k], level[-k:])
        out[k] = float(np.corrcoef(v, a)[0, 1])
    return out


def test_mouth_follows_the_muxed_audio(grid, lrw):
    videos = sorted(grid.glob("s*/video/mpg_6000/*.mpg")) + sorted(lrw.glob("lipread_mp4/*/*/*.mp4"))[:4]
    for path in videos:
        corr = _sync(path)
        assert max(corr, key=corr.get) == 0, (path.name, corr)
        assert corr[0] > 0.6 and corr[0] > max(corr[-5], corr[5]) + 0.2, (path.name, corr)


def test_a_face_detector_finds_the_face(grid, lrw):
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    for path in [*sorted(grid.glob("s*/video/mpg_6000/*.mpg"))[:2], *sorted(lrw.glob("lipread_mp4/*/*/*.mp4"))[:2]]:
        frames, _ = read_video(path)
        for frame in frames[:: len(frames) // 4]:
            faces = detector.detectMultiScale(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 1.1, 5)
            assert len(faces) == 1, path


def test_grid_video_audio_is_the_wav(grid):
    video = sorted(grid.glob("s*/video/mpg_6000/*.mpg"))[0]
    wav, _ = read_audio(grid / "audio_25k" / video.parent.parent.parent.name / f"{video.stem}.wav")
    track = read_video_audio(video, 25000)
    assert abs(len(track) - len(wav)) < 1000
    n = min(len(track), len(wav)) // 250 * 250
    envelope = [np.abs(x[:n].astype(float)).reshape(-1, 250).mean(axis=1) for x in (track, wav)]
    assert np.corrcoef(*envelope)[0, 1] > 0.95  # same speech, in step (10 ms resolution)


# --- the video I/O module ------------------------------------------------------------------------------------


def _moving_gradient(t: int, h: int = 64, w: int = 96) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    frames = [np.stack([(x * 2 + 5 * i) % 256, (y * 3) % 256, np.full_like(x, 40 + 4 * i)], -1) for i in range(t)]
    return np.asarray(frames, np.uint8)


@pytest.mark.parametrize(
    ("name", "vcodec", "acodec", "fmt", "aopts"),
    [
        ("clip.mp4", "libx264", "aac", "mp4", {"ar": 16000, "ac": 1}),
        ("clip.mpg", "mpeg1video", "mp2", "mpeg", {"ar": 44100, "ac": 2}),
    ],
)
def test_write_read_round_trip(tmp_path, name, vcodec, acodec, fmt, aopts):
    frames = _moving_gradient(20)
    rate = 16000
    t = np.arange(int(0.8 * rate)) / rate
    audio = (8000 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.int16)
    path = tmp_path / name
    write_video(path, frames, 25, audio, rate, vcodec=vcodec, acodec=acodec, format=fmt, audio_options=aopts)
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 25.0
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 6
    sound = read_video_audio(path, rate)
    assert abs(len(sound) - len(audio)) < 0.1 * rate
    n = min(len(sound), len(audio)) // 160 * 160
    env = [np.abs(x[:n].astype(float)).reshape(-1, 160).mean(axis=1) for x in (sound, audio)]
    assert np.corrcoef(*env)[0, 1] > 0.95
    # silent video: readable, but asking for its audio names the problem
    write_video(tmp_path / "silent.mp4", frames, 25)
    assert read_video(tmp_path / "silent.mp4")[0].shape == frames.shape
    with pytest.raises(InputError, match="no audio stream"):
        read_video_audio(tmp_path / "silent.mp4")


def test_corrupt_or_missing_video_raises_input_error(tmp_path, lrw):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    real = sorted(lrw.glob("lipread_mp4/*/*/*.mp4"))[0].read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(real[: len(real) // 3])
    for bad in (junk, truncated, tmp_path / "missing.mp4"):
        for reader in (probe, read_video, read_video_audio):
            with pytest.raises(InputError) as err:
                reader(bad)
            assert str(bad) in str(err.value)


def test_grid_slow_voices_still_fit_the_three_seconds(tmp_path):
    """Regression: a voice too slow for 3 s once left no room for the sentence (seed 3 crashed)."""
    from avsec.data.av.corpora import read_grid_align

    make_corpus("grid", tmp_path / "g", seed=3, sizes={"speakers": 3, "sentences_per_speaker": 3})
    for align in (tmp_path / "g").glob("s*/align/*.align"):
        words = read_grid_align(align)
        assert len(words) == 6 and words[-1][1] <= 74500, align
