"""The synthetic TIMIT, LibriSpeech, GTZAN, Speech Commands and VOC corpora: real layouts, real formats,
determinism, the real corpora's defects, and content a model can learn."""

from __future__ import annotations

import hashlib
import re
import struct
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from avsec.data.synth import make_corpus

TIMIT_PHONES = set(
    "b d g p t k dx q jh ch s sh z zh f th v dh m n ng em en eng nx l r w y hh hv el iy ih eh ey ae aa aw ay ah ao "
    "oy ow uh uw ux er ax ix axr ax-h bcl dcl gcl pcl tcl kcl pau epi h#".split()
)
SHORT = 32640  # TIMIT and LibriSpeech prep drop utterances shorter than this


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def same_bytes(a: Path, b: Path, names: list[str]) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def generate(factory, name: str, seed: int, **sizes) -> Path:
    root = factory.mktemp(name) / name
    make_corpus(name, root, seed=seed, sizes=sizes)
    return root


# --- TIMIT -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timit(tmp_path_factory) -> Path:
    return generate(tmp_path_factory, "timit", 3, train_speakers_per_dialect=1, test_speakers_per_dialect=1)


def nist_header(path: Path) -> dict[str, str | int]:
    head = path.read_bytes()[:1024]
    text = head[: head.index(b"end_head\n")].decode("ascii").splitlines()
    fields = {}
    for line in text[2:]:
        key, kind, value = line.split(" ", 2)
        assert kind == "-i" or (kind.startswith("-s") and int(kind[2:]) == len(value)), line
        fields[key] = int(value) if kind == "-i" else value
    return fields


def test_timit_layout(timit):
    names = files(timit)
    pattern = re.compile(r"^(TRAIN|TEST)/DR[1-8]/[MF][A-Z]{3}[0-9]/(SA[12]|SX\d+|SI\d+)\.(WAV|PHN|WRD|TXT)$")
    assert [n for n in names if not pattern.match(n)] == []
    speakers = {n.rsplit("/", 1)[0] for n in names}
    assert len(speakers) == 16 and {s.split("/")[0] for s in speakers} == {"TRAIN", "TEST"}
    assert len({s.rsplit("/", 1)[1][1:] for s in speakers}) == 16  # ids unique without the sex letter
    for speaker in speakers:
        utts = sorted({n.rsplit("/", 1)[1].split(".")[0] for n in names if n.startswith(speaker + "/")})
        assert utts[:2] == ["SA1", "SA2"] and len(utts) == 10
        assert sum(u.startswith("SX") for u in utts) == 5 and sum(u.startswith("SI") for u in utts) == 3
        sx = sorted(int(u[2:]) for u in utts if u.startswith("SX"))
        assert np.diff(sx).tolist() == [90] * 4 and 3 <= sx[0] and sx[-1] <= 452
        assert all((timit / speaker / f"{u}.{ext}").is_file() for u in utts for ext in ("WAV", "PHN", "WRD", "TXT"))


def test_timit_nist_sphere(timit):
    wavs = sorted(timit.glob("*/*/*/*.WAV"))
    assert len(wavs) == 160
    for wav in wavs[::7]:
        raw = wav.read_bytes()
        assert raw.startswith(b"NIST_1A\n   1024\n")
        fields = nist_header(wav)
        assert list(fields) == [
            "database_id", "database_version", "utterance_id", "channel_count", "sample_count", "sample_rate",
            "sample_min", "sample_max", "sample_n_bytes", "sample_byte_format", "sample_sig_bits",
        ]  # fmt: skip
        assert fields["database_id"] == "TIMIT" and fields["database_version"] == "1.0"
        assert fields["utterance_id"] == f"{wav.parent.name[1:].lower()}_{wav.stem.lower()}"
        assert (fields["channel_count"], fields["sample_rate"], fields["sample_n_bytes"]) == (1, 16000, 2)
        assert (fields["sample_byte_format"], fields["sample_sig_bits"]) == ("01", 16)
        samples = np.frombuffer(raw[1024:], dtype="<i2")
        assert fields["sample_count"] == len(samples)
        assert (fields["sample_min"], fields["sample_max"]) == (samples.min(), samples.max())
        info = sf.info(str(wav))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("NIST", "PCM_16", 16000, 1)
        data, _ = sf.read(str(wav), dtype="int16")
        assert np.array_equal(data, samples)


def test_timit_transcriptions(timit):
    sa1 = sorted(timit.glob("*/*/*/SA1.TXT"))[0].read_text()
    assert re.fullmatch(r"0 \d+ She had your dark suit in greasy wash water all year\.\n", sa1)
    for txt in sorted(timit.glob("*/*/*/*.TXT"))[::5]:
        start, count, sentence = txt.read_text().rstrip("\n").split(" ", 2)
        assert start == "0" and int(count) == nist_header(txt.with_suffix(".WAV"))["sample_count"]
        n = int(count)
        phones = [line.split() for line in txt.with_suffix(".PHN").read_text().splitlines()]
        assert phones[0][2] == "h#" and phones[-1][2] == "h#"
        assert int(phones[0][0]) == 0 and int(phones[-1][1]) == n
        assert all(int(a[1]) == int(b[0]) for a, b in pairwise(phones))  # contiguous
        assert all(int(p[0]) < int(p[1]) for p in phones) and {p[2] for p in phones} <= TIMIT_PHONES
        words = [line.split() for line in txt.with_suffix(".WRD").read_text().splitlines()]
        assert [w[2] for w in words] == re.findall(r"[a-z']+", sentence.lower())
        bounds = [int(x) for w in words for x in w[:2]]
        assert bounds == sorted(bounds) and 0 < bounds[0] and bounds[-1] < n
        starts = {int(p[0]) for p in phones}
        assert all(int(w[0]) in starts for w in words)  # every word starts on a phone boundary


def test_timit_lengths(timit):
    counts = np.array([nist_header(w)["sample_count"] for w in timit.glob("*/*/*/*.WAV")])
    assert 5 <= (counts < SHORT).sum() <= 0.2 * len(counts)  # some too short for the prep, most long enough
    for split in ("TRAIN", "TEST"):
        assert any(nist_header(w)["sample_count"] < SHORT for w in timit.glob(f"{split}/*/*/SI*.WAV"))
    assert 2.5 * 16000 < np.mean(counts) < 5 * 16000


@pytest.mark.parametrize("style", ["lower", "wavwav"])
def test_timit_styles_rename_the_same_files(timit, style, tmp_path_factory):
    copy = generate(
        tmp_path_factory, "timit", 3, train_speakers_per_dialect=1, test_speakers_per_dialect=0, style=style
    )
    names = files(copy)
    if style == "lower":
        assert names and all(
            re.fullmatch(r"train/dr[1-8]/[mf][a-z]{3}\d/(sa[12]|s[xi]\d+)\.(wav|phn|wrd|txt)", n) for n in names
        )
        upper = [n.upper() for n in names]
    else:
        assert all(
            re.fullmatch(r"TRAIN/DR[1-8]/[MF][A-Z]{3}\d/(SA[12]|S[XI]\d+)\.(WAV\.wav|PHN|WRD|TXT)", n) for n in names
        )
        upper = [n.removesuffix(".wav") for n in names]
    assert sorted(upper) == [n for n in files(timit) if n.startswith("TRAIN/")]
    # the same seed gives the same bytes, whatever the names
    assert all((copy / n).read_bytes() == (timit / u).read_bytes() for n, u in zip(names, upper, strict=True))
    wav = next(p for p in sorted(copy.rglob("*")) if p.name.lower().endswith(("sa1.wav", "sa1.wav.wav")))
    assert sf.info(str(wav)).format == "NIST" and len(sf.read(str(wav))[0]) > SHORT


def test_timit_other_seed_differs(timit, tmp_path_factory):
    other = generate(tmp_path_factory, "timit", 4, train_speakers_per_dialect=1, test_speakers_per_dialect=0)
    assert files(other) != [n for n in files(timit) if n.startswith("TRAIN/")]


def test_timit_rejects_unknown_style(tmp_path):
    with pytest.raises(ValueError, match="style"):
        make_corpus("timit", tmp_path / "t", seed=0, sizes={"style": "mixed"})
    assert not (tmp_path / "t").exists()


# --- LibriSpeech -------------------------------------------------------------------------------------------

LIBRI = {"speakers": 3, "chapters_per_speaker": 2, "utterances_per_chapter": 3}


def test_librispeech(tmp_path_factory):
    root = generate(tmp_path_factory, "librispeech", 5, **LIBRI)
    names = files(root)
    audio = [n for n in names if n.endswith(".flac")]
    assert len(audio) == 18
    pattern = re.compile(r"^train-clean-100/(\d+)/(\d+)/\1-\2-(\d{4})\.flac$")
    assert all(pattern.match(n) for n in audio)
    trans = [n for n in names if n.endswith(".trans.txt")]
    assert all(re.fullmatch(r"train-clean-100/(\d+)/(\d+)/\1-\2\.trans\.txt", n) for n in trans) and len(trans) == 6
    assert set(names) == set(audio) | set(trans) | {"SPEAKERS.TXT", "CHAPTERS.TXT"}
    lines = [line for n in trans for line in (root / n).read_text().splitlines()]
    assert sorted(line.split(" ", 1)[0] for line in lines) == sorted(Path(n).stem for n in audio)
    assert all(re.fullmatch(r"\d+-\d+-\d{4}( [A-Z']+)+", line) for line in lines)
    frames = []
    for n in audio:
        info = sf.info(str(root / n))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 16000, 1)
        frames.append(info.frames)
    frames = np.array(frames)
    assert 2 <= (frames < SHORT).sum() <= 5 and np.median(frames) > 3 * 16000
    speakers = (root / "SPEAKERS.TXT").read_text().splitlines()
    assert speakers[0].startswith("; ") and ";ID  |SEX| SUBSET           |MINUTES| NAME" in speakers
    rows = [[f.strip() for f in line.split("|")] for line in speakers if not line.startswith(";")]
    assert sorted(r[0] for r in rows) == sorted({n.split("/")[1] for n in audio})
    assert all(r[1] in "MF" and r[2] == "train-clean-100" and float(r[3]) > 0 for r in rows)
    chapters = [line for line in (root / "CHAPTERS.TXT").read_text().splitlines() if not line.startswith(";")]
    assert sorted(line.split("|")[0].strip() for line in chapters) == sorted({n.split("/")[2] for n in audio})
    again = generate(tmp_path_factory, "librispeech", 5, **LIBRI)
    assert files(again) == names and same_bytes(root, again, names)
    other = generate(tmp_path_factory, "librispeech", 6, **LIBRI)
    assert files(other) != names


# --- GTZAN -------------------------------------------------------------------------------------------------

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


@pytest.fixture(scope="module")
def gtzan(tmp_path_factory) -> Path:
    return generate(tmp_path_factory, "gtzan", 7, tracks_per_genre=2)


def test_gtzan_layout_and_format(gtzan):
    names = files(gtzan)
    assert all(re.fullmatch(r"genres/([a-z]+)/\1\.\d{5}\.au", n) for n in names)
    assert {n.split("/")[1] for n in names} == set(GENRES)
    assert len(names) == 21 and "genres/jazz/jazz.00054.au" in names
    frames = []
    for n in names:
        if n.endswith("00054.au"):
            continue
        raw = (gtzan / n).read_bytes()
        offset, _, encoding, rate, channels = struct.unpack(">5I", raw[4:24])
        assert raw[:4] == b".snd" and (encoding, rate, channels) == (3, 22050, 1)  # 16-bit linear PCM, big-endian
        info = sf.info(str(gtzan / n))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("AU", "PCM_16", 22050, 1)
        assert info.frames == (len(raw) - offset) // 2
        frames.append(info.frames)
    frames = np.array(frames)
    assert (frames >= 29.1 * 22050).all() and (frames <= 30.65 * 22050).all()
    assert (frames == 661794).mean() >= 0.5


def test_gtzan_jazz_00054_is_corrupt(gtzan, tmp_path_factory):
    with pytest.raises(sf.LibsndfileError):
        sf.read(str(gtzan / "genres/jazz/jazz.00054.au"))
    original = generate(tmp_path_factory, "gtzan", 7, tracks_per_genre=1, duration=2.0, layout="genres_original")
    names = files(original)
    assert len(names) == 11 and all(re.fullmatch(r"genres_original/([a-z]+)/\1\.\d{5}\.wav", n) for n in names)
    info = sf.info(str(original / "genres_original/rock/rock.00000.wav"))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 22050, 1)
    with pytest.raises(sf.LibsndfileError):
        sf.read(str(original / "genres_original/jazz/jazz.00054.wav"))


def test_gtzan_is_deterministic(gtzan, tmp_path_factory):
    again = generate(tmp_path_factory, "gtzan", 7, tracks_per_genre=1)  # track 0 of each genre, same seed
    names = files(again)
    assert names == [n for n in files(gtzan) if n.endswith(".00000.au") or n.endswith(".00054.au")]
    assert same_bytes(gtzan, again, names)
    other = generate(tmp_path_factory, "gtzan", 8, tracks_per_genre=1, duration=2.0)
    assert (other / names[0]).read_bytes() != (gtzan / names[0]).read_bytes()


def clip_features(x: np.ndarray) -> np.ndarray:
    """Mean and spread of log band energies over a 1 s clip, its spectral flux and centroid."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::512] * np.hanning(1024)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.geomspace(1, 513, 17).astype(int)
    bands = np.log(np.stack([power[:, a:b].sum(1) for a, b in pairwise(edges)], 1) + 1e-9)
    centroid = (power * np.arange(513)).sum(1) / (power.sum(1) + 1e-9)
    return np.concatenate([bands.mean(0), bands.std(0), [np.abs(np.diff(bands, axis=0)).mean(), centroid.mean()]])


def test_gtzan_genres_are_learnable_from_1s_clips(gtzan):
    """Nearest class mean on simple spectral features, trained on track 0 and tested on track 1 of each genre."""
    feats = {}
    for genre in GENRES:
        for n in (0, 1):
            x, rate = sf.read(str(gtzan / f"genres/{genre}/{genre}.{n:05d}.au"))
            feats[genre, n] = np.array([clip_features(x[i * rate : (i + 1) * rate]) for i in range(0, 29, 2)])
    train = np.concatenate([feats[g, 0] for g in GENRES])
    mean, std = train.mean(0), train.std(0) + 1e-9
    centres = np.array([((feats[g, 0] - mean) / std).mean(0) for g in GENRES])
    correct = total = 0
    for k, genre in enumerate(GENRES):
        z = (feats[genre, 1] - mean) / std
        guess = np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        correct += (guess == k).sum()
        total += len(z)
    assert correct / total > 0.6  # chance is 0.1
    flux = {g: feats[g, 1][:, -2].mean() for g in GENRES}
    assert min(flux, key=flux.get) == "classical"  # the one genre without drums changes least


# --- Speech Commands ---------------------------------------------------------------------------------------


def readme_which_set(filename: str) -> str:
    """which_set as the Speech Commands README writes it (validation 10 %, testing 10 %)."""
    hash_name = re.sub(r"_nohash_.*$", "", Path(filename).name)
    percentage = (int(hashlib.sha1(hash_name.encode()).hexdigest(), 16) % 2**27) * (100.0 / (2**27 - 1))
    return "validation" if percentage < 10 else "testing" if percentage < 20 else "training"


def test_speech_commands(tmp_path_factory):
    sizes = {"speakers": 5, "words": ("yes", "no", "up"), "background": 2}
    root = generate(tmp_path_factory, "speech_commands", 9, **sizes)
    names = files(root)
    clips = [n for n in names if not n.startswith("_") and n.endswith(".wav")]
    assert all(re.fullmatch(r"(yes|no|up)/[0-9a-f]{8}_nohash_\d+\.wav", n) for n in clips)
    assert {n.split("/")[0] for n in clips} == {"yes", "no", "up"}
    assert {"LICENSE", "README.md", "validation_list.txt", "testing_list.txt"} <= set(names)
    background = [n for n in names if n.startswith("_background_noise_/") and n.endswith(".wav")]
    assert background == ["_background_noise_/pink_noise.wav", "_background_noise_/white_noise.wav"]
    assert all(sf.info(str(root / n)).frames >= 10 * 16000 for n in background)
    frames = []
    for n in clips:
        info = sf.info(str(root / n))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 16000, 1)
        assert (root / n).read_bytes()[36:40] == b"data"  # the plain 44-byte header of the real clips
        frames.append(info.frames)
    frames = np.array(frames)
    assert frames.max() == 16000 and 0.15 <= (frames < 16000).mean() <= 0.6
    listed = {}
    for split in ("validation", "testing"):
        entries = (root / f"{split}_list.txt").read_text().splitlines()
        assert entries == sorted(entries) and set(entries) <= set(clips)
        listed.update(dict.fromkeys(entries, split))
    for n in clips:
        assert listed.get(n, "training") == readme_which_set(n)
    speakers = {
        split: {n.split("/")[1][:8] for n in clips if readme_which_set(n) == split} for split in listed.values()
    }
    speakers["training"] = {n.split("/")[1][:8] for n in clips if n not in listed}
    assert all(len(s) >= 1 for s in speakers.values()) and len(speakers) == 3
    again = generate(tmp_path_factory, "speech_commands", 9, **sizes)
    assert files(again) == names and same_bytes(root, again, names)
    other = generate(tmp_path_factory, "speech_commands", 10, **sizes)
    assert files(other) != names


# --- Pascal VOC --------------------------------------------------------------------------------------------


def test_voc(tmp_path_factory):
    root = generate(tmp_path_factory, "voc", 11, images=8)
    base = root / "VOCdevkit" / "VOC2012"
    names = files(root)
    ids = [Path(n).stem for n in names if n.endswith(".jpg")]
    assert len(ids) == 8 and all(re.fullmatch(r"20(0[7-9]|1[0-2])_\d{6}", i) for i in ids)
    assert set(names) == {f"VOCdevkit/VOC2012/JPEGImages/{i}.jpg" for i in ids} | {
        f"VOCdevkit/VOC2012/Annotations/{i}.xml" for i in ids
    } | {f"VOCdevkit/VOC2012/ImageSets/Main/{s}.txt" for s in ("train", "val", "trainval")}
    sets = {s: (base / "ImageSets/Main" / f"{s}.txt").read_text().splitlines() for s in ("train", "val", "trainval")}
    assert not set(sets["train"]) & set(sets["val"]) and sets["trainval"] == sorted(sets["train"] + sets["val"])
    assert sets["trainval"] == sorted(ids) and all(sets[s] == sorted(sets[s]) for s in sets)
    broken = []
    for i in ids:
        tree = ET.parse(base / "Annotations" / f"{i}.xml").getroot()
        assert tree.findtext("filename") == f"{i}.jpg" and tree.findtext("size/depth") == "3"
        width, height = int(tree.findtext("size/width")), int(tree.findtext("size/height"))
        box = [int(tree.findtext(f"object/bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
        assert 0 < box[0] < box[2] <= width and 0 < box[1] < box[3] <= height
        try:
            with Image.open(base / "JPEGImages" / f"{i}.jpg") as image:
                assert image.format == "JPEG" and image.size == (width, height) and max(image.size) == 500
                assert np.asarray(image.convert("RGB")).std() > 10
        except OSError:
            broken.append(i)
    assert len(broken) == 1 and broken[0] in sets["train"]
    again = generate(tmp_path_factory, "voc", 11, images=8)
    assert files(again) == names and same_bytes(root, again, names)
    other = generate(tmp_path_factory, "voc", 12, images=8)
    assert files(other) != names
