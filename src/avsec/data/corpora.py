"""Corpus readers: list the items of a corpus from its real on-disk layout.

Every reader takes the corpus root as the user has it (the directory holding the layout, or one or two levels
above it, e.g. ``TIMIT/`` or its parent, ``VOCdevkit/`` or its parent) and returns :class:`Item` s sorted by
their source path, so listings are deterministic. A missing root, a missing list file or a corpus without a
single matching item raises :class:`~avsec.core.errors.InputError` naming the path. Files that do not belong to
the layout (transcripts, phone alignments, READMEs) are not items.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from avsec.core.errors import ConfigError, InputError
from avsec.io.shards import list_files


@dataclass(frozen=True, order=True)
class Item:
    """One corpus file.

    ``source`` is its path relative to the root the caller gave (POSIX, original case); ``uid`` names it the
    same way in every copy of the corpus (upper- or lower-case, ``.WAV`` or ``.WAV.wav``, ``.au`` or
    ``.wav``, wherever the root points), so that seeded draws keyed on it agree between copies.
    """

    source: str
    path: Path
    uid: str
    label: str
    split: str = ""
    text: str = ""


# --- TIMIT -------------------------------------------------------------------------------------------------

_TIMIT_AUDIO = re.compile(r"^(?P<split>train|test)/dr[1-8]/(?P<spk>[^/]+)/(?P<utt>[^/.]+)\.wav(?P<wav>\.wav)?$", re.I)


def timit_items(root: str | Path) -> list[Item]:
    """Utterances of TIMIT ``{TRAIN,TEST}/DR1..DR8/<SPK>/<UTT>.WAV``, matched case-insensitively.

    Copies that rename the audio to ``<UTT>.WAV.wav`` are accepted; where both names exist for one
    utterance the original ``<UTT>.WAV`` is used. label = speaker id (upper-case), split = "train"/"test".
    """
    root = _existing_dir(root)
    top = _find_top(root, lambda d: bool(_child_dirs(d, {"train", "test"})))
    best: dict[tuple[str, str, str], tuple[bool, str]] = {}
    for rel in list_files(top):
        m = _TIMIT_AUDIO.match(rel)
        if m is None:
            continue
        key = (m["split"].lower(), m["spk"].upper(), m["utt"].upper())
        candidate = (m["wav"] is not None, rel)  # the original name (no extra .wav) sorts first
        if key not in best or candidate < best[key]:
            best[key] = candidate
    items = [
        _item(root, top, rel, uid=f"{split.upper()}/{spk}/{utt}", label=spk, split=split)
        for (split, spk, utt), (_, rel) in best.items()
    ]
    return _nonempty(sorted(items), root, "TIMIT utterances ({TRAIN,TEST}/DR1..DR8/<SPK>/<UTT>.WAV)")


# --- LibriSpeech -------------------------------------------------------------------------------------------


def librispeech_items(root: str | Path, subsets: Sequence[str] | str) -> list[Item]:
    """Utterances of LibriSpeech ``<subset>/<spk>/<chap>/<spk>-<chap>-<utt>.flac`` for the given subsets.

    label = speaker id, split = subset name, text = the transcript line from ``<spk>-<chap>.trans.txt``
    (empty when the chapter has none). A subset directory that does not exist raises InputError.
    """
    root = _existing_dir(root)
    subsets = names(subsets, "subsets")
    top = _find_top(root, lambda d: all((d / s).is_dir() for s in subsets))
    items = []
    for subset in subsets:
        base = top / subset
        if not base.is_dir():
            raise InputError(base, "no such LibriSpeech subset directory")
        items += _librispeech_subset(root, base, subset)
    return _nonempty(sorted(items), root, f"LibriSpeech utterances in {', '.join(subsets)}")


_LIBRI_AUDIO = re.compile(r"^(?P<spk>\d+)/(?P<chap>\d+)/(?P=spk)-(?P=chap)-(?P<utt>\d+)\.flac$")


def _librispeech_subset(root: Path, base: Path, subset: str) -> list[Item]:
    items, texts = [], {}
    for rel in list_files(base):
        m = _LIBRI_AUDIO.match(rel)
        if m is None:
            continue
        chapter = base / m["spk"] / m["chap"]
        if chapter not in texts:
            texts[chapter] = _transcripts(chapter / f"{m['spk']}-{m['chap']}.trans.txt")
        uid = Path(rel).stem
        items.append(_item(root, base, rel, uid=uid, label=m["spk"], split=subset, text=texts[chapter].get(uid, "")))
    return items


def _transcripts(path: Path) -> dict[str, str]:
    """``<utt-id> TEXT`` lines of a LibriSpeech transcript file (empty when there is none)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        utt, _, text = line.strip().partition(" ")
        if utt:
            out[utt] = text
    return out


# --- GTZAN -------------------------------------------------------------------------------------------------

_GTZAN_AUDIO = re.compile(r"^(?P<genre>[^/]+)/(?P=genre)\.(?P<num>\d{5})\.(?:au|wav)$", re.I)
GTZAN_DIRS = ("genres", "genres_original")


def gtzan_items(root: str | Path) -> list[Item]:
    """Tracks of GTZAN ``genres/<genre>/<genre>.000NN.au`` or ``genres_original/<genre>/<genre>.000NN.wav``.

    ``root`` may be the directory holding ``genres``/``genres_original`` (or one above, like Kaggle's
    ``Data/``) or that directory itself. label = genre (lower-case).
    """
    root = _existing_dir(root)
    top = _find_top(root, lambda d: any((d / name).is_dir() for name in GTZAN_DIRS))
    bases = [top / name for name in GTZAN_DIRS if (top / name).is_dir()] or [top]
    items = []
    for rel in list_files(bases[0]):
        m = _GTZAN_AUDIO.match(rel)
        if m is not None:
            track = f"{m['genre'].lower()}.{m['num']}"
            items.append(_item(root, bases[0], rel, uid=track, label=m["genre"].lower()))
    return _nonempty(sorted(items), root, "GTZAN tracks (genres/<genre>/<genre>.000NN.au or .wav)")


# --- Speech Commands ---------------------------------------------------------------------------------------

SPEECH_COMMANDS_LISTS = {"val": "validation_list.txt", "test": "testing_list.txt"}
_SC_AUDIO = re.compile(r"^(?P<word>[^/]+)/[^/]+_nohash_\d+\.wav$")


def speech_commands_items(root: str | Path, words: Sequence[str] | str | None = None) -> list[Item]:
    """Clips of Speech Commands v0.02 ``<word>/<hash>_nohash_<n>.wav`` for ``words`` (all words when None).

    split from the official lists: ``validation_list.txt`` → "val", ``testing_list.txt`` → "test", else
    "train"; ``_background_noise_`` is never a word. label = word. A requested word without a directory and a
    missing list file raise InputError.
    """
    root = _existing_dir(root)
    top = _find_top(root, lambda d: (d / SPEECH_COMMANDS_LISTS["test"]).is_file())
    splits = {}
    for split, name in SPEECH_COMMANDS_LISTS.items():
        path = top / name
        if not path.is_file():
            raise InputError(path, "Speech Commands split list not found")
        splits.update((line.strip(), split) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if words is None:
        words = tuple(d.name for d in sorted(top.iterdir()) if d.is_dir() and not d.name.startswith("_"))
    else:
        words = _check_words(names(words, "words"))
    items = []
    for word in words:
        if not (top / word).is_dir():
            raise InputError(top / word, f"no directory for the word {word!r}")
        for rel in list_files(top / word):
            rel = f"{word}/{rel}"
            if _SC_AUDIO.match(rel):
                uid = rel[: -len(".wav")]
                items.append(_item(root, top, rel, uid=uid, label=word, split=splits.get(rel, "train")))
    return _nonempty(sorted(items), root, "Speech Commands clips (<word>/<hash>_nohash_<n>.wav)")


def _check_words(words: tuple[str, ...]) -> tuple[str, ...]:
    for word in words:
        if word.startswith("_") or "/" in word:
            raise ConfigError(f"{word!r} is not a Speech Commands word")
    return words


# --- Pascal VOC 2012 ---------------------------------------------------------------------------------------


def voc_items(root: str | Path, image_sets: Sequence[str] | str = ("train", "val")) -> list[Item]:
    """Images of Pascal VOC 2012 listed in ``ImageSets/Main/<set>.txt``, from ``JPEGImages/<id>.jpg``.

    ``root`` may be ``VOCdevkit/VOC2012``, ``VOCdevkit`` or the directory holding it. split = image-set name
    (an id listed in two sets keeps the first). The JPEG need not exist: decoding reports a missing one.
    """
    root = _existing_dir(root)
    top = _find_top(root, lambda d: (d / "ImageSets" / "Main").is_dir())
    image_sets = names(image_sets, "image_sets")
    seen: dict[str, Item] = {}
    for name in image_sets:
        path = top / "ImageSets" / "Main" / f"{name}.txt"
        if not path.is_file():
            raise InputError(path, "VOC image-set list not found")
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if fields and fields[0] not in seen:
                jpeg = f"{fields[0]}.jpg"
                seen[fields[0]] = _item(root, top / "JPEGImages", jpeg, uid=fields[0], label="", split=name)
    return _nonempty(sorted(seen.values()), root, f"VOC images in ImageSets/Main/{{{','.join(image_sets)}}}.txt")


# --- helpers -----------------------------------------------------------------------------------------------


def names(value: Sequence[str] | str, key: str = "names") -> tuple[str, ...]:
    """A non-empty tuple of strings from a list or one string (``--subsets train-clean-100`` parses to a
    string); ConfigError for anything else, e.g. the booleans unquoted yes/no/on/off become in YAML 1.1."""
    values = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not values:
        raise ConfigError(f"{key} must be a non-empty list of names, got {value!r}")
    for v in values:
        if not isinstance(v, str):
            raise ConfigError(f"{key}: {v!r} is not a string (quote yes/no/on/off in config.yaml)")
    if len(set(values)) != len(values):
        raise ConfigError(f"{key}: repeated names in {list(values)}")
    return values


def _existing_dir(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "corpus root not found (no such directory)")
    return root


def _find_top(root: Path, is_top: Callable[[Path], bool], depth: int = 2) -> Path:
    """``root`` or the first directory (sorted, breadth first, at most ``depth`` levels down) that holds the
    layout; ``root`` itself when none does (the reader then finds nothing and says so)."""
    level = [root]
    for step in range(depth + 1):
        for d in level:
            if is_top(d):
                return d
        if step < depth:
            level = [c for d in level for c in sorted(d.iterdir()) if c.is_dir() and not c.name.startswith(".")]
    return root


def _child_dirs(d: Path, names: set[str]) -> list[str]:
    """Children of ``d`` whose lower-cased names are in ``names``."""
    with os.scandir(d) as it:
        return [e.name for e in it if e.is_dir() and e.name.lower() in names]


def _item(root: Path, base: Path, rel: str, **fields) -> Item:
    """The item for the file ``base/rel`` (``rel`` POSIX); its source is relative to ``root``, an ancestor."""
    return Item(source=_prefix(root, base) + rel, path=base / rel, **fields)


@functools.lru_cache(maxsize=64)
def _prefix(root: Path, base: Path) -> str:
    return "" if base == root else base.relative_to(root).as_posix() + "/"


def _nonempty(items: list[Item], root: Path, what: str) -> list[Item]:
    if not items:
        raise InputError(root, f"no {what} found")
    return items
