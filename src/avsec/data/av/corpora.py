"""Audio-visual corpus readers (GRID, LRW) and clip loading with the corpus's frame count enforced.

Readers take the corpus root as the user has it (the directory holding the layout, or one or two levels above
it) and return ``(items, rejects)``: :class:`AVItem` s sorted by source path, and ``(source, reason)`` pairs
for every video that cannot become an item (no alignment, no metadata, ...), so nothing is dropped silently.
A missing root or a corpus without a single usable item raises :class:`~avsec.core.errors.InputError` naming the
path.

GRID layouts accepted (both can be mixed; where one clip has both, the first listed wins and the other copy
is a reject)::

    s<N>/video/mpg_6000/<id>.mpg     s<N>/align/<id>.align          the original distribution
    s<N>/<id>.mpg                    alignments/s<N>/<id>.align     the Zenodo copy (s<N>.zip, alignments.zip)
    audio_25k/s<N>/<id>.wav                                         the separate 25 kHz audio (both copies)

:func:`load_clip` decodes a clip to RGB frames and 16 kHz int16 audio aligned to the first video frame, with
the frame count fixed by the rule documented there.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsec.core.errors import ConfigError, InputError
from avsec.data.av.parts import stable_hash
from avsec.data.corpora import _existing_dir, _find_top
from avsec.io.audio import read_audio, resample
from avsec.io.shards import list_files, valid_utf8
from avsec.io.video import read_clip

FPS = 25  # both corpora
FRAMES = {"grid": 75, "lrw": 29}  # frames per clip of each corpus
GRID_ALIGN_UNIT = 25000  # .align times are in 1/25000 s (1000 per video frame)
GRID_SILENCES = frozenset({"sil", "sp"})
GRID_AUDIO = ("video", "wav")
LRW_SPLITS = ("train", "val", "test")
FIXES = ("pad", "trim", "reject")
TOLERANCE = 5  # frames a clip may be off by and still be fixed
_NOT_UTF8 = "file name is not valid UTF-8 (rename it, e.g. with convmv -f latin1 -t utf-8)"

Rejects = list[tuple[str, str]]


@dataclass(frozen=True, order=True)
class AVItem:
    """One audio-visual clip.

    ``source`` is the video's path relative to the root the caller gave (POSIX); ``uid`` names the clip the
    same way in every copy of the corpus (GRID ``s<N>/<id>``, LRW ``<WORD>/<split>/<WORD>_<NNNNN>``);
    ``audio_path`` is the separate audio file, None when the audio is the video's own track. GRID: label =
    text = the sentence (sil/sp removed), duration = seconds from the first word's start to the last word's end.
    LRW: label = text = the word, duration = the word's duration from the clip's .txt.
    """

    source: str
    path: Path
    uid: str
    label: str
    split: str = ""
    audio_path: Path | None = None
    text: str = ""
    duration: float = 0.0


# --- GRID --------------------------------------------------------------------------------------------------

# (pattern, preference): lower preference wins when a clip appears in two layouts
_GRID_VIDEOS = (
    re.compile(r"^(?P<spk>s\d+)/video/mpg_6000/(?P<id>[^/.]+)\.mpg$"),
    re.compile(r"^(?P<spk>s\d+)/(?P<id>[^/.]+)\.mpg$"),
)
_GRID_ALIGNS = (
    re.compile(r"^(?P<spk>s\d+)/align/(?P<id>[^/.]+)\.align$"),
    re.compile(r"^alignments/(?P<spk>s\d+)/(?P<id>[^/.]+)\.align$"),
)
_GRID_WAV = re.compile(r"^audio_25k/(?P<spk>s\d+)/(?P<id>[^/.]+)\.wav$")
_SPEAKER = re.compile(r"^s?0*(\d+)$")


def grid_items(root: str | Path, *, audio: str = "video") -> tuple[list[AVItem], Rejects]:
    """Clips of GRID in either layout of the module docstring, with labels from their .align files.

    ``audio="video"`` takes the audio from the video's track (``audio_path`` None); ``audio="wav"`` from
    ``audio_25k/s<N>/<id>.wav`` (a clip without its WAV is then a reject). split = "" (see :func:`grid_split`).
    Rejects: a video without an .align, an unreadable .align or one without words, a duplicate copy.
    """
    if audio not in GRID_AUDIO:
        raise ConfigError(f"GRID audio must be one of {', '.join(GRID_AUDIO)}, got {audio!r}")
    root = _existing_dir(root)
    top = _find_top(root, _holds_grid_speaker)
    prefix = "" if top == root else top.relative_to(root).as_posix() + "/"
    videos: dict[tuple[str, str], list[tuple[int, str]]] = {}
    aligns: dict[tuple[str, str], tuple[int, str]] = {}
    wavs: dict[tuple[str, str], str] = {}
    rejects: Rejects = []
    for rel in list_files(top):
        if not valid_utf8(rel):
            if rel.endswith(".mpg"):
                rejects.append((prefix + rel, _NOT_UTF8))
            continue
        if rel.endswith(".mpg"):
            for rank, pattern in enumerate(_GRID_VIDEOS):
                if m := pattern.match(rel):
                    videos.setdefault((m["spk"], m["id"]), []).append((rank, rel))
                    break
        elif rel.endswith(".align"):
            for rank, pattern in enumerate(_GRID_ALIGNS):
                if m := pattern.match(rel):
                    key = (m["spk"], m["id"])
                    if key not in aligns or rank < aligns[key][0]:
                        aligns[key] = (rank, rel)
                    break
        elif m := _GRID_WAV.match(rel):
            wavs[(m["spk"], m["id"])] = rel
    items: list[AVItem] = []
    for (spk, uid), copies in sorted(videos.items()):
        copies.sort()
        source = prefix + copies[0][1]
        rejects += [(prefix + rel, f"duplicate of {source}") for _, rel in copies[1:]]
        if (spk, uid) not in aligns:
            looked = " or ".join(f"{prefix}{p}" for p in (f"{spk}/align/{uid}.align", f"alignments/{spk}/{uid}.align"))
            rejects.append((source, f"no alignment file ({looked} not found)"))
            continue
        align_path = top / aligns[(spk, uid)][1]
        try:
            spans = read_grid_align(align_path)
        except InputError as exc:
            rejects.append((source, f"{prefix}{aligns[(spk, uid)][1]}: {exc.problem}"))
            continue
        audio_path = None
        if audio == "wav":
            if (spk, uid) not in wavs:
                rejects.append((source, f"no 25 kHz WAV ({prefix}audio_25k/{spk}/{uid}.wav not found)"))
                continue
            audio_path = top / wavs[(spk, uid)]
        sentence = " ".join(word for _, _, word in spans)
        duration = (spans[-1][1] - spans[0][0]) / GRID_ALIGN_UNIT
        items.append(
            AVItem(
                source=source,
                path=top / copies[0][1],
                uid=f"{spk}/{uid}",
                label=sentence,
                audio_path=audio_path,
                text=sentence,
                duration=duration,
            )
        )
    return _nonempty(
        sorted(items), rejects, root, "GRID clips (s<N>/video/mpg_6000/<id>.mpg with s<N>/align/<id>.align)"
    )


def read_grid_align(path: str | Path) -> list[tuple[int, int, str]]:
    """The words of a GRID .align file as (start, end, word), times in 1/25000 s, sil and sp removed.

    InputError for an unreadable file, a line that is not ``start end word`` with start <= end, or no words.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(path, f"unreadable alignment ({exc.strerror})") from None
    spans = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()) or int(fields[0]) > int(fields[1]):
            raise InputError(path, f"line {number} is not 'start end word': {line.strip()[:60]!r}")
        if fields[2].lower() not in GRID_SILENCES:
            spans.append((int(fields[0]), int(fields[1]), fields[2].lower()))
    if not spans:
        raise InputError(path, "alignment has no words (only sil/sp)")
    return spans


GRID_SPLITS = ("speakers", "sentences")  # scales.<scale>.av.grid_split.split_by


def grid_split(
    items: Iterable[AVItem],
    *,
    train: Sequence[str | int],
    val: Sequence[str | int],
    test: Sequence[str | int],
    split_by: str = "speakers",
    sentence_fractions: Sequence[float] = (),
    split_seed: int = 0,
) -> list[AVItem]:
    """GRID items with ``split`` set (``s1``, ``1`` and ``"1"`` all name speaker s1).

    ``split_by="speakers"`` (unseen speakers, the paper's protocol): each list's speakers in its split.
    ``split_by="sentences"`` (overlapped speakers, LipNet's protocol): every listed speaker in every split, each
    speaker's sentences divided by ``sentence_fractions`` (train, val, test) in an order seeded by
    ``split_seed``; a sentence (GRID id, the same words) that several speakers say is in one split for all of
    them (see :func:`_split_sentences`). Items of speakers in none of the lists are left out (the config chooses
    the speakers); ConfigError for a speaker listed twice, a malformed speaker name, lists that select no item at
    all, bad fractions, or (sentences) a speaker with too few sentences to be in every split.
    """
    if split_by not in GRID_SPLITS:
        raise ConfigError(f"GRID split_by must be one of {', '.join(GRID_SPLITS)}, got {split_by!r}")
    items = list(items)
    owner: dict[str, str] = {}
    for split, speakers in (("train", train), ("val", val), ("test", test)):
        if isinstance(speakers, (str, int)):
            speakers = [speakers]
        for speaker in speakers:
            name = _speaker(speaker)
            if name in owner:
                raise ConfigError(f"GRID speaker {name} is listed twice (in {owner[name]} and {split})")
            owner[name] = split
    chosen = [item for item in items if grid_speaker(item) in owner]
    if items and not chosen:
        have = ", ".join(sorted({grid_speaker(i) for i in items}, key=lambda s: int(s[1:])))
        raise ConfigError(f"none of the configured GRID speakers is in the corpus (it has {have})")
    if split_by == "speakers":
        return sorted(dataclasses.replace(item, split=owner[grid_speaker(item)]) for item in chosen)
    splits = _split_sentences(chosen, _fractions(sentence_fractions), split_seed)
    return sorted(dataclasses.replace(item, split=splits[grid_sentence(item)]) for item in chosen)


def grid_sentence(item: AVItem) -> str:
    """The sentence id of a GRID item (``bbaf2n``: the same id is the same words, whoever says them)."""
    return item.uid.split("/", 1)[1]


def _fractions(values: Sequence[float] | float) -> tuple[float, float, float]:
    values = [values] if isinstance(values, (int, float)) else list(values)
    if len(values) != 3 or any(not isinstance(v, (int, float)) or v <= 0 for v in values):
        raise ConfigError(f"GRID sentence_fractions must be 3 positive numbers (train, val, test), got {values}")
    total = float(sum(values))
    return tuple(v / total for v in values)


def _split_sentences(items: list[AVItem], fractions: Sequence[float], seed: int) -> dict[str, str]:
    """Each sentence id's split. Speakers in number order; a speaker's sentences not yet placed (by an earlier
    speaker who says them too) in a seeded order (stable_hash of seed and id) fill what its splits lack of
    round(n x fraction) (at least 1) of its n sentences, test and val first; those left over go to train."""
    by_speaker: dict[str, list[str]] = {}
    for item in items:
        by_speaker.setdefault(grid_speaker(item), []).append(grid_sentence(item))
    names = ("train", "val", "test")
    placed: dict[str, str] = {}
    for speaker in sorted(by_speaker, key=lambda s: int(s[1:])):
        sentences = sorted(set(by_speaker[speaker]))
        if len(sentences) < len(names):
            raise ConfigError(
                f"GRID speaker {speaker} has {len(sentences)} sentences: too few to be in train, val and test"
            )
        want = [max(1, round(len(sentences) * f)) for f in fractions]
        have = [sum(placed.get(s) == name for s in sentences) for name in names]
        free = sorted((s for s in sentences if s not in placed), key=lambda s: stable_hash(f"{seed}/{s}"))
        for k in (2, 1, 0):
            while have[k] < want[k] and free:
                placed[free.pop(0)] = names[k]
                have[k] += 1
        placed.update((s, "train") for s in free)
        if missing := [name for name in names if not any(placed[s] == name for s in sentences)]:
            raise ConfigError(
                f"GRID speaker {speaker} has no {' or '.join(missing)} sentence (its sentences are placed by "
                "speakers before it who say them too): give it more sentences"
            )
    return placed


def grid_speaker(item: AVItem) -> str:
    """The speaker (``s<N>``) of a GRID item."""
    return item.uid.split("/", 1)[0]


def _speaker(value: str | int) -> str:
    m = _SPEAKER.match(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if m is None:
        raise ConfigError(f"{value!r} is not a GRID speaker (s1, s2, ... or 1, 2, ...)")
    return f"s{int(m[1])}"


def _holds_grid_speaker(d: Path) -> bool:
    """Whether ``d`` holds a GRID speaker directory ``s<N>`` with videos (either layout)."""
    for child in d.iterdir():
        if child.is_dir() and re.fullmatch(r"s\d+", child.name):
            if (child / "video" / "mpg_6000").is_dir() or any(child.glob("*.mpg")):
                return True
    return False


# --- LRW ---------------------------------------------------------------------------------------------------

_LRW_VIDEO = re.compile(r"^(?P<word>[^/]+)/(?P<split>train|val|test)/(?P=word)_(?P<num>\d+)\.mp4$")
_LRW_DURATION = re.compile(r"^\s*Duration:\s*(?P<seconds>[-+0-9.eE]+)\s*seconds?\s*$", re.I)


def lrw_items(root: str | Path, select: Callable[[str], bool] | None = None) -> tuple[list[AVItem], Rejects]:
    """Clips of LRW ``lipread_mp4/<WORD>/{train,val,test}/<WORD>_<NNNNN>.mp4``.

    ``root`` may be ``lipread_mp4`` itself or a directory up to two levels above it. label = text = the word
    folder, split = the split folder, duration = the word's duration from the ``Duration: X seconds`` line of
    the ``.txt`` beside the video (found by its prefix, wherever it is in the file). Rejects: a video whose
    .txt is missing or has no positive, finite duration.

    ``select`` (a source → bool; one part of a partitioned run): only the videos it selects are read (their
    ``.txt``), and when it selects none of the corpus's videos that is not an error (a corpus without videos
    still is). Rejects of file names come whatever it selects.
    """
    root = _existing_dir(root)
    top = _find_top(root, lambda d: (d / "lipread_mp4").is_dir())
    base = top / "lipread_mp4" if (top / "lipread_mp4").is_dir() else root
    prefix = "" if base == root else base.relative_to(root).as_posix() + "/"
    items: list[AVItem] = []
    rejects: Rejects = []
    videos = 0
    for rel in list_files(base):
        m = _LRW_VIDEO.match(rel)
        if m is None:
            continue
        videos += 1
        if not valid_utf8(rel):
            rejects.append((prefix + rel, _NOT_UTF8))
            continue
        if select is not None and not select(prefix + rel):
            continue
        path = base / rel
        try:
            duration = lrw_duration(path.with_suffix(".txt"))
        except InputError as exc:
            rejects.append((prefix + rel, f"{prefix}{rel[: -len('.mp4')]}.txt: {exc.problem}"))
            continue
        items.append(
            AVItem(
                source=prefix + rel,
                path=path,
                uid=rel[: -len(".mp4")],
                label=m["word"],
                split=m["split"],
                text=m["word"],
                duration=duration,
            )
        )
    if select is not None and videos:
        return sorted(items), sorted(rejects)
    return _nonempty(sorted(items), rejects, root, "LRW clips (lipread_mp4/<WORD>/{train,val,test}/<WORD>_NNNNN.mp4)")


def lrw_duration(path: str | Path) -> float:
    """The word's duration in seconds from an LRW metadata .txt (its ``Duration: X seconds`` line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "metadata file not found")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := _LRW_DURATION.match(line):
            try:
                seconds = float(m["seconds"])
            except ValueError:
                break
            if math.isfinite(seconds) and seconds > 0:
                return seconds
            raise InputError(path, f"duration is not a positive number of seconds: {line.strip()!r}")
    raise InputError(path, "no 'Duration: X seconds' line")


# --- clips -------------------------------------------------------------------------------------------------


def load_clip(
    item: AVItem, *, frames: int, rate: int = 16000, fix: str = "pad", tolerance: int = TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``item`` to RGB frames (``frames``, H, W, 3) uint8 and int16 mono audio at ``rate`` Hz.

    Frame count rule: a clip that decodes to ``frames`` frames is used as it is. One that is off by more than
    ``tolerance`` frames raises InputError. Within the tolerance, ``fix="pad"`` trims extra frames at the end
    and pads a short clip by repeating its last frame; ``fix="trim"`` trims extra frames but rejects a short
    clip; ``fix="reject"`` rejects any other count. The video must be 25 fps.

    Audio: the video's own track (InputError "no audio track" when it has none) or ``item.audio_path``
    (resampled to ``rate`` with :func:`avsec.io.audio.resample`); sample 0 is the time of the first video
    frame; the result is trimmed or zero-padded to exactly ``frames * rate / 25`` samples. Audio shorter than
    ``(frames - tolerance) * rate / 25`` samples raises InputError. Every error names the file.
    """
    if fix not in FIXES:
        raise ConfigError(f"fix must be one of {', '.join(FIXES)}, got {fix!r}")
    if frames <= 0 or tolerance < 0 or rate % FPS:
        raise ConfigError(
            f"need frames > 0, tolerance >= 0 and a rate divisible by {FPS}, got {frames}, {tolerance}, {rate}"
        )
    path = Path(item.path)
    from_video = item.audio_path is None
    video, fps, audio = read_clip(path, rate, audio=from_video)
    if from_video and audio is None:
        raise InputError(path, "no audio track")
    if abs(fps - FPS) > 0.01:
        raise InputError(path, f"frame rate {fps:g} fps, expected {FPS}")
    video = fit_frames(video, frames, fix=fix, tolerance=tolerance, path=path)
    audio_file = path
    if not from_video:
        audio_file = Path(item.audio_path)
        samples, audio_rate = read_audio(audio_file)
        audio = resample(samples, audio_rate, rate)
    want = frames * rate // FPS
    if len(audio) < want - tolerance * rate // FPS:
        raise InputError(audio_file, f"audio is {len(audio) / rate:.3f} s, the clip needs {want / rate:.3f} s")
    audio = audio[:want] if len(audio) >= want else np.concatenate([audio, np.zeros(want - len(audio), np.int16)])
    return video, np.ascontiguousarray(audio, dtype=np.int16)


def fit_frames(video: np.ndarray, frames: int, *, fix: str, tolerance: int, path: str | Path) -> np.ndarray:
    """``video`` with exactly ``frames`` frames by the rule of :func:`load_clip`, or InputError naming ``path``."""
    count = len(video)
    if count == frames:
        return video
    if abs(count - frames) > tolerance:
        raise InputError(path, f"{count} frames, expected {frames} (more than {tolerance} off)")
    if fix == "reject" or (fix == "trim" and count < frames):
        raise InputError(path, f"{count} frames, expected {frames} (fix={fix})")
    if count > frames:
        return video[:frames]
    return np.concatenate([video, np.repeat(video[-1:], frames - count, axis=0)])


# --- helpers -----------------------------------------------------------------------------------------------


def _nonempty(items: list[AVItem], rejects: Rejects, root: Path, what: str) -> tuple[list[AVItem], Rejects]:
    rejects = sorted(rejects)
    if not items:
        detail = f"; all {len(rejects)} videos rejected, first: {rejects[0][0]}: {rejects[0][1]}" if rejects else ""
        raise InputError(root, f"no {what} found{detail}")
    return items, rejects
