"""Corpus readers, prep functions and STFT features on tiny real files in the real layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from avsec.core.errors import ConfigError, InputError
from avsec.data.corpora import gtzan_items, librispeech_items, speech_commands_items, timit_items, voc_items
from avsec.data.prep import (
    Piece,
    _split_counts,
    draw_key,
    fit_length,
    overlap_groups,
    pick_test,
    prep_gtzan,
    prep_librispeech,
    prep_speech_commands,
    prep_timit,
    prep_voc,
    segment_offsets,
    timit_hop,
)
from avsec.io.audio import write_audio
from avsec.io.shards import ShardedArray, read_tsv

# --- fixtures: tiny corpora in the real layouts ------------------------------------------------------------


def tone(n: int, rate: int = 16000, freq: float = 440.0, seed: int = 0) -> np.ndarray:
    """A sine plus a little noise, int16."""
    t = np.arange(n) / rate
    noise = np.random.default_rng(seed).standard_normal(n) * 200
    return np.round(8000 * np.sin(2 * np.pi * freq * t) + noise).astype(np.int16)


def corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not audio at all" * 10)


def stereo(path: Path, n: int, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros((n, 2), dtype=np.int16), rate, subtype="PCM_16")


def empty_wav(path: Path, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(0, dtype=np.int16), rate, subtype="PCM_16", format="WAV")


SEG = 1000


@pytest.fixture
def timit(tmp_path: Path) -> Path:
    """Upper-case TIMIT with NIST SPHERE files: 2 + 1 + 3 + 1 segments of SEG, and five bad files."""
    root = tmp_path / "TIMIT"
    nist = dict(format="NIST")
    write_audio(root / "TRAIN/DR1/FCJF0/SA1.WAV", tone(2 * SEG + 10), 16000, **nist)
    write_audio(root / "TRAIN/DR1/FCJF0/SX37.WAV", tone(SEG, seed=1), 16000, **nist)
    write_audio(root / "TEST/DR8/MABC0/SI1620.WAV", tone(3 * SEG, seed=2), 16000, **nist)
    write_audio(root / "TEST/DR8/MABC0/SA2.WAV", tone(SEG + 500, seed=3), 16000, **nist)
    (root / "TRAIN/DR1/FCJF0/SA1.PHN").write_text("0 3050 h#\n")
    write_audio(root / "TRAIN/DR2/MKLS0/SA1.WAV", tone(SEG - 1), 16000, **nist)  # too short
    write_audio(root / "TRAIN/DR2/MKLS0/SA2.WAV", tone(3 * SEG, rate=8000), 8000, **nist)  # wrong rate
    stereo(root / "TRAIN/DR2/MKLS0/SX1.WAV", 3 * SEG, 16000)
    corrupt(root / "TRAIN/DR2/MKLS0/SX2.WAV")
    empty_wav(root / "TRAIN/DR2/MKLS0/SX3.WAV")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def rejects(out: Path) -> dict[str, str]:
    return {r["source"]: r["reason"] for r in read_tsv(out / "rejects.tsv")}


# --- TIMIT -------------------------------------------------------------------------------------------------


def test_timit_segments_offsets_and_rejects(timit: Path, tmp_path: Path) -> None:
    out = tmp_path / "prep"
    summary = prep_timit(timit, out, segment=SEG, count=100, test_fraction=0.25, seed=1)
    data = ShardedArray(out)
    got = sorted((m["source"], int(m["offset"]), m["label"]) for m in data.manifest)
    assert got == [
        ("TEST/DR8/MABC0/SA2.WAV", 0, "MABC0"),
        ("TEST/DR8/MABC0/SI1620.WAV", 0, "MABC0"),
        ("TEST/DR8/MABC0/SI1620.WAV", SEG, "MABC0"),
        ("TEST/DR8/MABC0/SI1620.WAV", 2 * SEG, "MABC0"),
        ("TRAIN/DR1/FCJF0/SA1.WAV", 0, "FCJF0"),
        ("TRAIN/DR1/FCJF0/SA1.WAV", SEG, "FCJF0"),
        ("TRAIN/DR1/FCJF0/SX37.WAV", 0, "FCJF0"),
    ]
    assert summary == {"train": 5, "test": 2, "rejects": 5}
    row = next(i for i, m in enumerate(data.manifest) if m["source"].endswith("SI1620.WAV") and m["offset"] == "1000")
    assert data[row].dtype == np.int16 and data[row].shape == (SEG,)
    np.testing.assert_array_equal(data[row], tone(3 * SEG, seed=2)[SEG : 2 * SEG])
    bad = rejects(out)
    assert bad["TRAIN/DR2/MKLS0/SA1.WAV"] == f"shorter than {SEG} samples ({SEG - 1} samples)"
    assert bad["TRAIN/DR2/MKLS0/SA2.WAV"] == "sample rate 8000 Hz, expected 16000 Hz"
    assert bad["TRAIN/DR2/MKLS0/SX1.WAV"] == "expected mono audio, found 2 channels"
    assert bad["TRAIN/DR2/MKLS0/SX2.WAV"].startswith("unreadable audio")
    assert bad["TRAIN/DR2/MKLS0/SX3.WAV"] == "empty audio (0 samples)"


def test_timit_default_segment_message(tmp_path: Path) -> None:
    write_audio(tmp_path / "t/TRAIN/DR1/FAKS0/SA1.WAV", tone(32640), 16000, format="NIST")
    write_audio(tmp_path / "t/TRAIN/DR1/FAKS0/SA2.WAV", tone(32639), 16000, format="NIST")
    summary = prep_timit(tmp_path / "t", tmp_path / "out", count=10, seed=0)
    assert summary == {"train": 1, "test": 0, "rejects": 1}
    assert rejects(tmp_path / "out") == {"TRAIN/DR1/FAKS0/SA2.WAV": "shorter than 32640 samples (32639 samples)"}


def test_timit_count_draw_split_and_determinism(timit: Path, tmp_path: Path, capsys) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert prep_timit(timit, a, segment=SEG, count=4, test_fraction=0.25, seed=7) == {
        "train": 3,
        "test": 1,
        "rejects": 5,
    }
    prep_timit(timit, b, segment=SEG, count=4, test_fraction=0.25, seed=7)
    assert tree_bytes(a) == tree_bytes(b)
    assert "note:" not in capsys.readouterr().err
    prep_timit(timit, c, segment=SEG, count=50, seed=7)
    assert "only 7 usable pieces, fewer than count=50" in capsys.readouterr().err
    assert len(ShardedArray(c)) == 7


# The fixture's usable utterances, in samples: SA1 2010, SX37 1000, SI1620 3000, SA2 1500.
LENGTHS = [2010, 1000, 3000, 1500]


def test_segment_offsets_and_the_hop_choices() -> None:
    assert list(segment_offsets(2010, SEG, SEG)) == [0, 1000]
    assert list(segment_offsets(3000, SEG, 500)) == [0, 500, 1000, 1500, 2000]
    assert list(segment_offsets(999, SEG, 1)) == []
    assert timit_hop(None, SEG, LENGTHS, 100) == SEG  # the default: non-overlapping
    assert timit_hop(250, SEG, LENGTHS, 100) == 250
    # auto: non-overlapping pieces number 2 + 1 + 3 + 1 = 7, enough for 7 (or no count)
    assert timit_hop("auto", SEG, LENGTHS, 7) == SEG and timit_hop("auto", SEG, LENGTHS, None) == SEG
    # for 8, SI1620 needs a fourth piece: hop <= 2000 / 3, so 666 (at 667 the four utterances give 7)
    total = lambda hop: sum(len(segment_offsets(n, SEG, hop)) for n in LENGTHS)  # noqa: E731
    assert timit_hop("auto", SEG, LENGTHS, 8) == 666 and (total(666), total(667)) == (8, 7)
    assert timit_hop("auto", SEG, LENGTHS, 10) == 500 and total(500) == 11
    assert timit_hop("auto", SEG, LENGTHS, 10**9) == 1  # nothing reaches it: the most pieces there are
    for bad in (0, -5, SEG + 1, "half", 2.5):
        with pytest.raises(ConfigError, match="hop"):
            timit_hop(bad, SEG, LENGTHS, 10)


def test_overlap_groups_chain_overlapping_pieces_of_one_file() -> None:
    pieces = [Piece(source, offset, uid=source, label="S") for source, offset in
              [("a", 0), ("a", 500), ("a", 1200), ("a", 2500), ("b", 0), ("b", 1000)]]  # fmt: skip
    # a@1200 overlaps a@500 (which overlaps a@0): one group; a@2500 starts after a@1200 ends; b's two pieces abut
    assert overlap_groups(pieces, SEG) == [0, 0, 0, 1, 2, 3]
    assert overlap_groups(pieces, 499) == [0, 1, 2, 3, 4, 5]  # shorter pieces: none overlaps


def test_pick_test_keeps_groups_whole_and_is_the_per_piece_draw_without_groups() -> None:
    pieces = [Piece(f"f{k // 3}", 100 * (k % 3), uid=f"f{k // 3}", label="S") for k in range(12)]
    for seed in range(20):
        # alone, the quarter (3 of 12) with the smallest split keys is test
        keys = sorted(range(12), key=lambda i: draw_key(seed, pieces[i].uid, pieces[i].offset, "split"))
        assert pick_test(pieces, 0.25, seed) == set(keys[:3])
        # in groups of three (each file's pieces overlap): one whole group, the one ranked first by its first piece
        test = pick_test(pieces, 0.25, seed, overlap_groups(pieces, SEG))
        first = min(range(0, 12, 3), key=lambda i: draw_key(seed, pieces[i].uid, pieces[i].offset, "split"))
        assert test == {first, first + 1, first + 2}
    # groups of 2 and 4 and a share of 3: a group that would overshoot is skipped, never cut
    groups = [0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    for seed in range(20):
        test = pick_test(pieces, 0.25, seed, groups)
        assert len(test) <= 3 and all((i in test) == (j in test) for i in range(12) for j in range(12)
                                      if groups[i] == groups[j])  # fmt: skip


def test_timit_overlapping_segments_share_a_split(timit: Path, tmp_path: Path, capsys) -> None:
    """hop 250: every usable utterance's pieces overlap, so each utterance lies in one split, whatever the seed."""
    for seed in range(6):
        out = tmp_path / f"s{seed}"
        summary = prep_timit(timit, out, segment=SEG, hop=250, count=None, test_fraction=0.25, seed=seed)
        assert summary["train"] + summary["test"] == 5 + 1 + 9 + 3  # offsets 0, 250, ... of 2010, 1000, 3000, 1500
        assert 0 < summary["test"] <= 5  # at most the quarter (4.5, rounded up), utterances whole
        splits: dict[str, set[str]] = {}
        for m in ShardedArray(out).manifest:
            splits.setdefault(m["source"], set()).add(m["split"])
            assert int(m["offset"]) % 250 == 0
        assert all(len(s) == 1 for s in splits.values()), splits
    assert "every 250 samples (overlapping)" in capsys.readouterr().err
    prep_timit(timit, tmp_path / "again", segment=SEG, hop=250, count=None, test_fraction=0.25, seed=5)
    assert tree_bytes(tmp_path / "again") == tree_bytes(tmp_path / "s5")


def test_timit_auto_hop_reaches_the_count(timit: Path, tmp_path: Path, capsys) -> None:
    # 7 non-overlapping pieces; 10 wanted: hop 500 gives 11 (3 + 1 + 5 + 2), 10 of them drawn
    summary = prep_timit(timit, tmp_path / "auto", segment=SEG, hop="auto", count=10, test_fraction=0.25, seed=3)
    assert summary["train"] + summary["test"] == 10
    err = capsys.readouterr().err
    assert "every 500 samples (overlapping)" in err and "fewer than count" not in err
    rows = ShardedArray(tmp_path / "auto").manifest
    assert {int(m["offset"]) % 500 for m in rows} == {0} and max(int(m["offset"]) for m in rows) <= 2000
    # when the non-overlapping pieces suffice, auto is the default: the same bytes
    prep_timit(timit, tmp_path / "a", segment=SEG, hop="auto", count=4, seed=3)
    prep_timit(timit, tmp_path / "b", segment=SEG, count=4, seed=3)
    prep_timit(timit, tmp_path / "c", segment=SEG, hop=SEG, count=4, seed=3)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b") == tree_bytes(tmp_path / "c")
    with pytest.raises(ConfigError, match="hop must be 'auto' or at most segment"):
        prep_timit(timit, tmp_path / "bad", segment=SEG, hop=SEG + 1, count=4, seed=3)
    assert not (tmp_path / "bad").exists()


def test_timit_lower_case_and_wav_wav_copies(timit: Path, tmp_path: Path) -> None:
    lower = tmp_path / "timit_lower"
    write_audio(lower / "train/dr1/fcjf0/sa1.wav", tone(SEG), 16000, format="NIST")
    write_audio(lower / "test/dr3/mxyz0/sx5.wav", tone(SEG), 16000, format="NIST")
    items = timit_items(lower)
    assert [(i.source, i.label, i.split) for i in items] == [
        ("test/dr3/mxyz0/sx5.wav", "MXYZ0", "test"),
        ("train/dr1/fcjf0/sa1.wav", "FCJF0", "train"),
    ]
    kaggle = tmp_path / "kaggle/data"  # the Kaggle copy: SA1.WAV (SPHERE) beside SA1.WAV.wav (RIFF), one level down
    write_audio(kaggle / "TRAIN/DR4/MJWS0/SA1.WAV", tone(SEG), 16000, format="NIST")
    write_audio(kaggle / "TRAIN/DR4/MJWS0/SA1.WAV.wav", tone(SEG), 16000)
    write_audio(kaggle / "TRAIN/DR4/MJWS0/SA2.WAV.wav", tone(SEG), 16000)
    items = timit_items(tmp_path / "kaggle")
    assert [i.source for i in items] == ["data/TRAIN/DR4/MJWS0/SA1.WAV", "data/TRAIN/DR4/MJWS0/SA2.WAV.wav"]
    prep_timit(tmp_path / "kaggle", tmp_path / "out", segment=SEG, count=10, seed=0)
    assert len(ShardedArray(tmp_path / "out")) == 2


def test_timit_draw_agrees_between_copies(timit: Path, tmp_path: Path) -> None:
    """Draws are keyed on the utterance, not the path: a lower-case .WAV.wav copy gives the same rows."""
    copy = tmp_path / "copy/timit"
    for item in timit_items(timit):
        if "MKLS0" not in item.source:  # the bad files
            x, rate = sf.read(str(item.path), dtype="int16")
            write_audio(copy / (item.source.lower() + ".wav"), x, rate)
    for name, root in (("a", timit), ("b", tmp_path / "copy")):
        prep_timit(root, tmp_path / name, segment=SEG, count=4, seed=11)
    a, b = read_tsv(tmp_path / "a/manifest.tsv"), read_tsv(tmp_path / "b/manifest.tsv")
    assert [(m["source"].lower(), m["split"], m["offset"]) for m in a] == [
        (m["source"].removeprefix("timit/").removesuffix(".wav"), m["split"], m["offset"]) for m in b
    ]
    assert tree_bytes(tmp_path / "a/shards") == tree_bytes(tmp_path / "b/shards")


def test_missing_root_and_empty_corpus(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for prep, kwargs in [
        (prep_timit, dict(count=1, seed=0)),
        (prep_librispeech, dict(subsets=["dev-clean"], count=1, seed=0)),
        (prep_gtzan, dict(seed=0)),
        (prep_speech_commands, dict(words=["yes"])),
        (prep_voc, dict(height=8, width=8, count=1, seed=0)),
    ]:
        with pytest.raises(InputError, match=str(missing)):
            prep(missing, tmp_path / "out", **kwargs)
        assert not (tmp_path / "out").exists()
    (tmp_path / "empty/TRAIN").mkdir(parents=True)
    with pytest.raises(InputError, match="no TIMIT utterances"):
        prep_timit(tmp_path / "empty", tmp_path / "out", count=1, seed=0)
    assert not (tmp_path / "out").exists()


def test_nothing_left_at_out_when_prep_raises(tmp_path: Path) -> None:
    write_audio(tmp_path / "t/TRAIN/DR1/FAKS0/SA1.WAV", tone(10), 16000, format="NIST")
    with pytest.raises(InputError, match=r"no usable timit data: all 1 listed files rejected"):
        prep_timit(tmp_path / "t", tmp_path / "res/out", segment=SEG, count=1, seed=0)
    assert list((tmp_path / "res").iterdir()) == []  # neither out nor a temporary directory
    with pytest.raises(ConfigError, match="test_fraction"):
        prep_timit(tmp_path / "t", tmp_path / "res/out", count=1, seed=0, test_fraction=2)
    assert list((tmp_path / "res").iterdir()) == []


# --- LibriSpeech -------------------------------------------------------------------------------------------


def test_librispeech_first_segment_and_transcripts(tmp_path: Path) -> None:
    root = tmp_path / "LibriSpeech"
    chapter = root / "dev-clean/84/121123"
    write_audio(chapter / "84-121123-0000.flac", tone(3 * SEG), 16000)
    write_audio(chapter / "84-121123-0001.flac", tone(SEG - 5), 16000)
    write_audio(root / "dev-clean/174/50561/174-50561-0000.flac", tone(SEG + 1, seed=4), 16000)
    (chapter / "84-121123.trans.txt").write_text("84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS\n")
    write_audio(root / "test-clean/1089/134686/1089-134686-0000.flac", tone(2 * SEG), 16000)
    items = librispeech_items(tmp_path, ["dev-clean"])  # one level above LibriSpeech/
    assert [(i.source, i.label, i.text) for i in items][:2] == [
        ("LibriSpeech/dev-clean/174/50561/174-50561-0000.flac", "174", ""),
        ("LibriSpeech/dev-clean/84/121123/84-121123-0000.flac", "84", "GO DO YOU HEAR"),
    ]
    out = tmp_path / "out"
    summary = prep_librispeech(root, out, subsets="dev-clean", segment=SEG, count=10, seed=3)
    assert summary == {"train": 1, "test": 1, "rejects": 1}
    data = ShardedArray(out)
    assert {m["offset"] for m in data.manifest} == {"0"}
    row = next(i for i, m in enumerate(data.manifest) if m["label"] == "174")
    np.testing.assert_array_equal(data[row], tone(SEG + 1, seed=4)[:SEG])
    assert rejects(out) == {
        "dev-clean/84/121123/84-121123-0001.flac": f"shorter than {SEG} samples ({SEG - 5} samples)"
    }
    with pytest.raises(InputError, match="other-500"):
        prep_librispeech(root, tmp_path / "o2", subsets=["dev-clean", "other-500"], count=1, seed=0)


def test_librispeech_replaces_a_file_that_fails_to_decode(tmp_path: Path) -> None:
    """A FLAC whose header is fine but whose data is truncated is rejected and replaced by the next draw."""
    chapter = tmp_path / "LibriSpeech/train-clean-100/19/198"
    for n in range(5):
        write_audio(chapter / f"19-198-{n:04d}.flac", tone(50000, seed=n), 16000)
    broken = chapter / "19-198-0002.flac"
    data = broken.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.6)])
    seen = set()
    for seed in range(4):
        out = tmp_path / f"out{seed}"
        summary = prep_librispeech(tmp_path, out, subsets=["train-clean-100"], segment=40000, count=4, seed=seed)
        assert summary["train"] + summary["test"] == 4 and summary["test"] == 1
        seen.update(rejects(out).values())
        assert "LibriSpeech/train-clean-100/19/198/19-198-0002.flac" not in {
            m["source"] for m in read_tsv(out / "manifest.tsv")
        }
    assert any(reason.startswith("unreadable audio") for reason in seen)


# --- GTZAN -------------------------------------------------------------------------------------------------

CLIP, CLIPS = 256, 4
TRACK = 1500  # samples at 22050 Hz: 1114 at 16384 Hz, enough for 4 clips of 256


@pytest.fixture
def gtzan(tmp_path: Path) -> Path:
    """genres/{blues,jazz}: 5 AU tracks each, jazz.00054 corrupt, blues.00003 too short."""
    root = tmp_path / "gtzan"
    for genre, freq in (("blues", 300.0), ("jazz", 900.0)):
        for n in range(50, 55):
            path = root / "genres" / genre / f"{genre}.{n:05d}.au"
            write_audio(path, tone(TRACK, 22050, freq, seed=n), 22050)
    corrupt(root / "genres/jazz/jazz.00054.au")
    write_audio(root / "genres/blues/blues.00053.au", tone(1000, 22050), 22050)
    return root


def test_gtzan_split_by_track(gtzan: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    kwargs = dict(clip=CLIP, clips_per_track=CLIPS, fractions=(0.6, 0.2, 0.2), seed=5)
    summary = prep_gtzan(gtzan, out, **kwargs)
    assert summary["rejects"] == 2 and sum(summary[s] for s in ("train", "val", "test")) == 8 * CLIPS
    data = ShardedArray(out)
    assert len(data) == 8 * CLIPS and data[0].shape == (CLIP,) and data[0].dtype == np.int16
    splits_of: dict[str, set[str]] = {}
    for m in data.manifest:
        splits_of.setdefault(m["source"], set()).add(m["split"])
    assert all(len(s) == 1 for s in splits_of.values())  # no track in two splits
    assert {m["offset"] for m in data.manifest} == {str(k * CLIP) for k in range(CLIPS)}
    assert {m["label"] for m in data.manifest} == {"blues", "jazz"}
    bad = rejects(out)
    assert bad["genres/jazz/jazz.00054.au"].startswith("unreadable audio")
    assert bad["genres/blues/blues.00053.au"] == "too short for 4 clips of 256 samples at 16384 Hz (744 samples)"
    prep_gtzan(gtzan, tmp_path / "again", **kwargs)
    assert tree_bytes(out) == tree_bytes(tmp_path / "again")


def test_gtzan_splits_drawn_from_listing(gtzan: Path, tmp_path: Path) -> None:
    """Per genre of 5 listed tracks at 60/20/20: 3/1/1 tracks, whether or not a track is rejected."""
    prep_gtzan(gtzan, tmp_path / "out", clip=CLIP, clips_per_track=CLIPS, fractions=(0.6, 0.2, 0.2), seed=5)
    data = ShardedArray(tmp_path / "out")
    tracks = {(m["label"], m["source"], m["split"]) for m in data.manifest}
    for genre in ("blues", "jazz"):
        splits = sorted(s for g, _, s in tracks if g == genre)
        assert len(splits) == 4 and set(splits) <= {"train", "val", "test"}
        assert splits.count("train") in (2, 3) and splits.count("val") <= 1 and splits.count("test") <= 1


def test_gtzan_split_by_clip_leaks_and_wav_layout(tmp_path: Path) -> None:
    root = tmp_path / "Data/genres_original/rock"
    for n in range(3):
        write_audio(root / f"rock.{n:05d}.wav", tone(TRACK, 22050, 1000.0, seed=n), 22050)
    assert [i.source for i in gtzan_items(tmp_path)] == [
        f"Data/genres_original/rock/rock.{n:05d}.wav" for n in range(3)
    ]
    summary = prep_gtzan(tmp_path, tmp_path / "out", clip=CLIP, clips_per_track=CLIPS, split_by="clip", seed=2)
    assert [summary[s] for s in ("train", "val", "test")] == _split_counts(3 * CLIPS, (0.8, 0.1, 0.1)) == [10, 1, 1]
    splits_of: dict[str, set[str]] = {}
    for m in ShardedArray(tmp_path / "out").manifest:
        splits_of.setdefault(m["source"], set()).add(m["split"])
    assert any(len(s) > 1 for s in splits_of.values())  # the paper's leaky split


def test_gtzan_resamples_to_16384(tmp_path: Path) -> None:
    """A 1 kHz tone at 22050 Hz stays 1 kHz after resampling to 16384 Hz (and the default sizes work)."""
    write_audio(tmp_path / "genres/pop/pop.00000.au", tone(30 * 22050, 22050, 1000.0), 22050)
    summary = prep_gtzan(tmp_path, tmp_path / "out", fractions=(1, 0, 0), seed=0)
    assert summary == {"train": 29, "val": 0, "test": 0, "rejects": 0}
    clip = ShardedArray(tmp_path / "out")[28].astype(np.float64)
    assert clip.shape == (16384,)
    spectrum = np.abs(np.fft.rfft(clip))
    assert np.argmax(spectrum) == 1000  # 16384-point FFT at 16384 Hz: 1 Hz per bin


def test_split_counts() -> None:
    assert _split_counts(100, (0.8, 0.1, 0.1)) == [80, 10, 10]
    assert _split_counts(99, (0.8, 0.1, 0.1)) == [79, 10, 10]
    assert _split_counts(3, (0.8, 0.1, 0.1)) == [1, 1, 1]
    assert _split_counts(2, (0.8, 0.1, 0.1)) == [2, 0, 0]
    assert _split_counts(10, (1.0, 0.0, 0.0)) == [10, 0, 0]


# --- Speech Commands ---------------------------------------------------------------------------------------


@pytest.fixture
def speech_commands(tmp_path: Path) -> Path:
    root = tmp_path / "speech_commands_v0.02"
    write_audio(root / "yes/0a7c2a8d_nohash_0.wav", tone(16000), 16000)
    write_audio(root / "yes/0a7c2a8d_nohash_1.wav", tone(9000, seed=1), 16000)
    write_audio(root / "yes/1b4c9b89_nohash_0.wav", tone(20000, seed=2), 16000)
    write_audio(root / "no/0a7c2a8d_nohash_0.wav", tone(16000, seed=3), 16000)
    write_audio(root / "no/0b40aa8e_nohash_0.wav", tone(16000, rate=8000), 8000)  # wrong rate
    empty_wav(root / "no/12345678_nohash_0.wav")
    stereo(root / "no/9f4098c5_nohash_0.wav", 16000, 16000)
    corrupt(root / "no/9f4098c5_nohash_1.wav")
    write_audio(root / "cat/0a7c2a8d_nohash_0.wav", tone(16000), 16000)
    write_audio(root / "_background_noise_/white_noise.wav", tone(48000), 16000)
    (root / "validation_list.txt").write_text("yes/0a7c2a8d_nohash_1.wav\n")
    (root / "testing_list.txt").write_text("no/0a7c2a8d_nohash_0.wav\ncat/0a7c2a8d_nohash_0.wav\n")
    (root / "LICENSE").write_text("CC-BY-4.0\n")
    return root


def test_speech_commands_pad_crop_splits_rejects(speech_commands: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = prep_speech_commands(speech_commands, out, words=["yes", "no"])
    assert summary == {"train": 2, "val": 1, "test": 1, "rejects": 4}
    data = ShardedArray(out)
    rows = {m["source"]: (i, m["split"], m["label"]) for i, m in enumerate(data.manifest)}
    assert sorted(rows) == [
        "no/0a7c2a8d_nohash_0.wav",
        "yes/0a7c2a8d_nohash_0.wav",
        "yes/0a7c2a8d_nohash_1.wav",
        "yes/1b4c9b89_nohash_0.wav",
    ]
    assert rows["no/0a7c2a8d_nohash_0.wav"][1:] == ("test", "no")
    assert rows["yes/0a7c2a8d_nohash_1.wav"][1:] == ("val", "yes")
    padded = data[rows["yes/0a7c2a8d_nohash_1.wav"][0]]
    assert padded.shape == (16384,)
    np.testing.assert_array_equal(padded[:9000], tone(9000, seed=1))
    assert not padded[9000:].any()
    np.testing.assert_array_equal(data[rows["yes/1b4c9b89_nohash_0.wav"][0]], tone(20000, seed=2)[:16384])
    bad = rejects(out)
    assert bad["no/0b40aa8e_nohash_0.wav"] == "sample rate 8000 Hz, expected 16000 Hz"
    assert bad["no/12345678_nohash_0.wav"] == "empty audio (0 samples)"
    assert bad["no/9f4098c5_nohash_0.wav"] == "expected mono audio, found 2 channels"
    assert bad["no/9f4098c5_nohash_1.wav"].startswith("unreadable audio")
    prep_speech_commands(speech_commands, tmp_path / "again", words=["yes", "no"])
    assert tree_bytes(out) == tree_bytes(tmp_path / "again")


def test_speech_commands_listing(speech_commands: Path, tmp_path: Path) -> None:
    assert {i.label for i in speech_commands_items(speech_commands)} == {"yes", "no", "cat"}
    assert [i.source for i in speech_commands_items(tmp_path, ["cat"])] == [
        "speech_commands_v0.02/cat/0a7c2a8d_nohash_0.wav"
    ]
    with pytest.raises(ConfigError, match="quote yes/no/on/off"):
        speech_commands_items(speech_commands, [True, False])
    assert [i.label for i in speech_commands_items(speech_commands, "cat")] == ["cat"]  # --words cat
    with pytest.raises(InputError, match="up"):
        speech_commands_items(speech_commands, ["up"])
    (speech_commands / "validation_list.txt").unlink()
    with pytest.raises(InputError, match="validation_list.txt"):
        prep_speech_commands(speech_commands, tmp_path / "out", words=["yes"])
    assert not (tmp_path / "out").exists()


def test_preparers_take_the_workflow_flags(speech_commands: Path, tmp_path: Path) -> None:
    """prepare_corpus.py passes --seed to every preparer, and a one-item list flag arrives as a string."""
    from avsec.core.config import parse_flags
    from avsec.data.prep import PREPARERS

    assert sorted(PREPARERS) == ["gtzan", "librispeech", "speech_commands", "timit", "voc"]
    flags = parse_flags(["--seed", "1", "--words", "yes", "--length", "8000"])
    assert PREPARERS["speech_commands"](speech_commands, tmp_path / "out", **flags)["rejects"] == 0


def test_fit_length() -> None:
    x = np.arange(1, 6, dtype=np.int16)
    np.testing.assert_array_equal(fit_length(x, 3), [1, 2, 3])
    np.testing.assert_array_equal(fit_length(x, 7), [1, 2, 3, 4, 5, 0, 0])
    assert fit_length(x, 7).dtype == np.int16


# --- Pascal VOC --------------------------------------------------------------------------------------------


@pytest.fixture
def voc(tmp_path: Path) -> Path:
    top = tmp_path / "VOCdevkit/VOC2012"
    (top / "JPEGImages").mkdir(parents=True)
    (top / "ImageSets/Main").mkdir(parents=True)
    rng = np.random.default_rng(0)
    ids = [f"2008_{n:06d}" for n in range(6)]
    for i, image_id in enumerate(ids[:5]):
        mode = "L" if i == 2 else "RGB"
        pixels = rng.integers(0, 256, size=(30 + i, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(top / "JPEGImages" / f"{image_id}.jpg", quality=90)
    (top / "JPEGImages" / f"{ids[1]}.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    (top / "ImageSets/Main/train.txt").write_text("\n".join(ids[:3]) + "\n")
    (top / "ImageSets/Main/val.txt").write_text("\n".join(ids[3:]) + "\n")  # ids[5] has no JPEG
    (top / "ImageSets/Main/aeroplane_train.txt").write_text(f"{ids[0]} -1\n")
    return tmp_path


def test_voc_images_rejects_and_count(voc: Path, tmp_path: Path) -> None:
    items = voc_items(voc)
    assert [(i.source.split("/")[-1], i.split) for i in items] == [
        (f"2008_{n:06d}.jpg", "train" if n < 3 else "val") for n in range(6)
    ]
    out = tmp_path / "out"
    summary = prep_voc(voc, out, height=16, width=24, count=None, seed=0)
    assert summary == {"train": 2, "val": 2, "rejects": 2}
    data = ShardedArray(out)
    assert data[0].shape == (16, 24, 3) and data[0].dtype == np.uint8
    bad = rejects(out)
    assert bad["VOCdevkit/VOC2012/JPEGImages/2008_000001.jpg"].startswith("undecodable image")
    assert bad["VOCdevkit/VOC2012/JPEGImages/2008_000005.jpg"] == "image file not found"
    few = prep_voc(voc / "VOCdevkit", tmp_path / "few", height=16, width=24, count=3, seed=1)
    assert few["train"] + few["val"] == 3
    again = prep_voc(voc / "VOCdevkit", tmp_path / "few2", height=16, width=24, count=3, seed=1)
    assert few == again and tree_bytes(tmp_path / "few") == tree_bytes(tmp_path / "few2")


# --- STFT --------------------------------------------------------------------------------------------------


def test_stft_features_paper1_and_paper3(timit: Path, tmp_path: Path) -> None:
    import torch

    from avsec.data.features import extract_stft
    from avsec.dsp.stft import from_channels, istft, stft
    from avsec.io.shards import shard_writer

    with shard_writer(tmp_path / "audio") as writer:
        for k in range(3):
            writer.add(tone(32640, seed=k), split="train" if k else "test", label=f"S{k}", source=f"f{k}.wav", offset=k)
    summary = extract_stft(tmp_path / "audio", tmp_path / "p1", n_fft=510, hop=128, batch=2)
    assert summary == {"test": 1, "train": 2, "rejects": 0}
    feats = ShardedArray(tmp_path / "p1")
    assert feats[0].shape == (2, 256, 256) and feats[0].dtype == np.float16
    assert [(m["split"], m["label"], m["source"], m["offset"]) for m in feats.manifest] == [
        ("test", "S0", "f0.wav", "0"),
        ("train", "S1", "f1.wav", "1"),
        ("train", "S2", "f2.wav", "2"),
    ]
    x = torch.from_numpy(tone(32640, seed=1).astype(np.float32) / 32768)
    back = istft(from_channels(torch.from_numpy(np.array(feats[1]))), n_fft=510, hop=128, length=32640)
    assert torch.max(torch.abs(back - x)) < 2e-3  # float16 storage
    extract_stft(tmp_path / "audio", tmp_path / "again", n_fft=510, hop=128, batch=2)
    assert tree_bytes(tmp_path / "p1") == tree_bytes(tmp_path / "again")

    with shard_writer(tmp_path / "audio16k") as writer:
        writer.add(tone(16000), split="train", label="x", source="x.wav")
    extract_stft(tmp_path / "audio16k", tmp_path / "p3", n_fft=1024, hop=31, win_length=1024, kind="magnitude")
    mag = ShardedArray(tmp_path / "p3")[0]
    assert mag.shape == (513, 16000 // 31 + 1) and (np.asarray(mag) >= 0).all()
    spec = stft(torch.from_numpy(tone(16000).astype(np.float32) / 32768), n_fft=1024, hop=31, win_length=1024)
    np.testing.assert_allclose(np.asarray(mag, dtype=np.float32), spec.abs().numpy(), rtol=2e-3, atol=2e-3)

    with pytest.raises(InputError, match="expected int16 waveform rows"):
        with shard_writer(tmp_path / "img") as writer:
            writer.add(np.zeros((4, 4, 3), np.uint8), split="train", label="", source="a.jpg")
        extract_stft(tmp_path / "img", tmp_path / "bad", n_fft=16, hop=4)
    assert not (tmp_path / "bad").exists()


def test_shards_are_written_as_rows_come_and_read_back_as_np_save_wrote_them(tmp_path: Path) -> None:
    from avsec.io.shards import shard_writer

    rows = [np.random.default_rng(k).integers(0, 256, (5, 4, 3), dtype=np.uint8) for k in range(7)]
    with shard_writer(tmp_path / "img", rows_per_shard=3) as writer:
        for k, row in enumerate(rows):
            writer.add(row, split="train", label="x", source=f"{k}.jpg")
            shards = sorted((writer.root / "shards").glob("*.npy"))
            assert len(shards) == k // 3 + 1  # the row's shard is on disk as soon as the row is added
    for k, start in enumerate((0, 3, 6)):  # 3 + 3 + 1 rows: the last shard's header is rewritten on close
        np.save(tmp_path / "expected.npy", np.stack(rows[start : start + 3]))
        shard = tmp_path / "img" / "shards" / f"shard-{k:05d}.npy"
        assert shard.read_bytes() == (tmp_path / "expected.npy").read_bytes()
    data = ShardedArray(tmp_path / "img")
    assert [m["index"] for m in data.manifest] == ["0", "1", "2", "0", "1", "2", "0"]
    assert all((data[k] == row).all() for k, row in enumerate(rows))

    with pytest.raises(ValueError, match="differs"):
        with shard_writer(tmp_path / "mixed") as writer:
            writer.add(rows[0], split="train", label="x", source="a.jpg")
            writer.add(rows[0][:2], split="train", label="x", source="b.jpg")
    assert not (tmp_path / "mixed").exists() and not list(tmp_path.glob(".mixed*"))


def test_the_manifest_reads_back_as_the_file_has_it_held_as_columns(tmp_path: Path) -> None:
    from avsec.io.shards import read_tsv, shard_writer

    with shard_writer(tmp_path / "a", rows_per_shard=2) as writer:
        for k in range(5):
            writer.add(np.full(3, k, np.int16), split=("train", "test")[k % 2], label=f"é{k}", source=f"d/{k}.wav")
    data = ShardedArray(tmp_path / "a")
    expected = read_tsv(tmp_path / "a" / "manifest.tsv")
    assert list(data.manifest) == expected and data.manifest[1:3] == expected[1:3] and len(data.manifest) == 5
    assert data.rows("test") == [1, 3] and data.labels() == [f"é{k}" for k in range(5)]
    assert [int(data[k][0]) for k in range(5)] == list(range(5))
    assert data.manifest.column("source").dtype.kind == "U"  # one string array per column, not a dict per row
    with shard_writer(tmp_path / "empty"):
        pass
    assert len(ShardedArray(tmp_path / "empty")) == 0 and ShardedArray(tmp_path / "empty").rows("train") == []
