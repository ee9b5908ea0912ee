"""Synthetic TIMIT in the real layout and file formats.

Layout (as the TIMIT CD-ROM has it, under the directory holding ``TRAIN`` and ``TEST``)::

    TRAIN|TEST/DR1..DR8/<SPK>/<UTT>.WAV   NIST SPHERE: 1024-byte ASCII header, then 16 kHz little-endian int16
    TRAIN|TEST/DR1..DR8/<SPK>/<UTT>.TXT   "0 <samples> <sentence>"
    TRAIN|TEST/DR1..DR8/<SPK>/<UTT>.WRD   "<start> <end> <word>" per word, in samples
    TRAIN|TEST/DR1..DR8/<SPK>/<UTT>.PHN   "<start> <end> <phone>" covering every sample, TIMIT phone codes, h# at
                                          both ends

Speakers are named like TIMIT's (sex letter, three initials, a digit: ``FCJF0``) and read ten sentences: SA1
and SA2 (TIMIT's own dialect sentences), five SX sentences numbered as TIMIT numbers them (one group of five
spaced by 90, the same text for the same number) and three SI sentences. Every speaker is an espeak-ng voice
(accent by dialect region, variant by sex, own speed and pitch); the words of a sentence are cut apart at the
long gaps espeak-ng leaves between them (:func:`~avsec.data.synth.speech.speak_words`) and laid out again with
short gaps, so the word boundaries are exact; the phones are espeak-ng's IPA mapped to TIMIT codes and spread
over each word. Every third speaker of each split reads one short SI sentence (under 32640 samples, which TIMIT
prep drops).

``style`` mimics the copies found in the wild: ``upper`` (the CD-ROM), ``lower`` (every path component
lower-case) and ``wavwav`` (upper-case with the audio renamed ``<UTT>.WAV.wav``; still NIST SPHERE inside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsec.data.synth.speech import (
    Voice,
    add_noise,
    in_threads,
    ipa_words,
    random_sentence,
    short_sentence,
    speak_words,
)

RATE = 16000
HEADER_BYTES = 1024
SHORT_LIMIT = 32640  # TIMIT prep drops utterances shorter than this; some of ours are
SA_TEXTS = {
    "SA1": "She had your dark suit in greasy wash water all year.",
    "SA2": "Don't ask me to carry an oily rag like that.",
}
STYLES = ("upper", "lower", "wavwav")
# espeak-ng accent per dialect region DR1..DR8, so that the "dialect" is audible and learnable
DIALECT_ACCENTS = ("en-us", "en-us", "en-gb", "en-029", "en-gb-scotland", "en-us", "en-gb-x-rp", "en-029")
SI_NUMBERS = range(459, 2349)  # TIMIT's SI sentences (1890 of them, each read once)
SX_BASES = range(3, 93)  # SX<b>, SX<b+90>, ..., SX<b+360>: numbers 3..452 as in TIMIT


@dataclass(frozen=True)
class Speaker:
    """One TIMIT speaker: split, dialect region, id (``MDAB0``), voice and the ten utterance names."""

    split: str
    dialect: int
    sid: str
    voice: Voice
    loudness: float
    utterances: tuple[str, ...]


def make_timit(
    root: Path,
    *,
    seed: int,
    train_speakers_per_dialect: int = 2,
    test_speakers_per_dialect: int = 1,
    style: str = "upper",
) -> None:
    """Write the synthetic TIMIT corpus under ``root`` (the directory that will hold TRAIN and TEST)."""
    if style not in STYLES:
        raise ValueError(f"unknown TIMIT style {style!r}; known: {', '.join(STYLES)}")
    speakers = _speakers(
        np.random.default_rng([seed, 0x7141]), {"TRAIN": train_speakers_per_dialect, "TEST": test_speakers_per_dialect}
    )
    jobs = [(spk, utt, sentence_text(utt)) for spk in speakers for utt in spk.utterances]
    spoken = in_threads(lambda job: speak_words(sentence_words(job[2]), job[0].voice, RATE), jobs)
    phones = _word_phones({(spk.voice.accent, w) for spk, _, text in jobs for w in sentence_words(text)})
    for k, ((spk, utt, text), clips) in enumerate(zip(jobs, spoken, strict=True)):
        rng = np.random.default_rng([seed, 0x7142, k])
        audio, wrd, phn = _utterance(spk, sentence_words(text), clips, phones, rng, short=_is_short(utt))
        folder = root / _name(spk.split, style) / _name(f"DR{spk.dialect}", style) / _name(spk.sid, style)
        folder.mkdir(parents=True, exist_ok=True)
        wav = f"{utt}.WAV.wav" if style == "wavwav" else _name(f"{utt}.WAV", style)
        write_nist(folder / wav, audio, utterance_id=f"{spk.sid[1:].lower()}_{utt.lower()}")
        _write_lines(folder / _name(f"{utt}.TXT", style), [f"0 {len(audio)} {text}"])
        _write_lines(folder / _name(f"{utt}.WRD", style), [f"{a} {b} {w}" for a, b, w in wrd])
        _write_lines(folder / _name(f"{utt}.PHN", style), [f"{a} {b} {p}" for a, b, p in phn])


def sentence_text(utt: str) -> str:
    """The prompt of utterance ``utt`` (SA1, SX127, SI1027, ...): fixed per name, like TIMIT's prompts."""
    if utt in SA_TEXTS:
        return SA_TEXTS[utt]
    number = int(utt[2:])
    rng = np.random.default_rng([0x7143, number, utt.startswith("SI")])
    return short_sentence(rng) if _is_short(utt) else random_sentence(rng)


def sentence_words(text: str) -> list[str]:
    """The words of a prompt as TIMIT's .WRD files spell them: lower case, apostrophes kept."""
    return re.findall(r"[a-z']+", text.lower())


def write_nist(path: Path, samples: np.ndarray, *, utterance_id: str) -> None:
    """Write int16 ``samples`` as a TIMIT NIST SPHERE file: TIMIT's header fields, padded to 1024 bytes."""
    samples = np.asarray(samples, dtype=np.int16)
    fields = [
        ("database_id", "TIMIT"),
        ("database_version", "1.0"),
        ("utterance_id", utterance_id),
        ("channel_count", 1),
        ("sample_count", len(samples)),
        ("sample_rate", RATE),
        ("sample_min", int(samples.min(initial=0))),
        ("sample_max", int(samples.max(initial=0))),
        ("sample_n_bytes", 2),
        ("sample_byte_format", "01"),
        ("sample_sig_bits", 16),
    ]
    lines = ["NIST_1A", f"{HEADER_BYTES:7d}"]
    lines += [f"{k} -i {v}" if isinstance(v, int) else f"{k} -s{len(v)} {v}" for k, v in fields]
    header = ("\n".join(lines) + "\nend_head\n").encode("ascii")
    header += b"\n" * 4  # the blank lines after end_head of TIMIT's headers; spaces pad the rest
    path.write_bytes(header.ljust(HEADER_BYTES, b" ") + samples.astype("<i2").tobytes())


# --- speakers and sentences --------------------------------------------------------------------------------


def _speakers(rng: np.random.Generator, per_dialect: dict[str, int]) -> list[Speaker]:
    """Speakers of every split and dialect region, with unique ids and SI numbers."""
    si_pool = [int(n) for n in rng.permutation(np.array(SI_NUMBERS))]
    short_si = [n for n in si_pool if _is_short(f"SI{n}")]
    long_si = [n for n in si_pool if not _is_short(f"SI{n}")]
    used: set[str] = set()
    speakers = []
    for split, count in per_dialect.items():
        index = 0
        for dialect in range(1, 9):
            for _ in range(count):
                sex = "M" if rng.random() < 0.7 else "F"
                sid = _speaker_id(rng, sex, used)
                voice = Voice(
                    accent=DIALECT_ACCENTS[dialect - 1],
                    variant=f"{sex.lower()}{int(rng.integers(1, 6))}",
                    speed=int(rng.integers(140, 201)),
                    pitch=int(rng.integers(30, 71)),
                )
                sx_base = int(rng.choice(SX_BASES))
                si = [short_si.pop()] if index % 3 == 0 else []
                si += [long_si.pop() for _ in range(3 - len(si))]
                utterances = ("SA1", "SA2", *(f"SX{sx_base + 90 * k}" for k in range(5)), *(f"SI{n}" for n in si))
                loudness = float(rng.uniform(0.1, 0.3))
                speakers.append(Speaker(split, dialect, sid, voice, loudness, utterances))
                index += 1
    return speakers


def _speaker_id(rng: np.random.Generator, sex: str, used: set[str]) -> str:
    """A new TIMIT-style id: sex letter, three initials, a digit (mostly 0, as in TIMIT)."""
    while True:
        initials = "".join(chr(ord("A") + int(i)) for i in rng.integers(0, 26, 3))
        sid = f"{sex}{initials}{0 if rng.random() < 0.9 else 1}"
        if sid[1:] not in used:  # TIMIT's utterance_id drops the sex letter, so keep the rest unique
            used.add(sid[1:])
            return sid


def _is_short(utt: str) -> bool:
    """Whether an SI prompt is a short one (every eighth SI number)."""
    return utt.startswith("SI") and int(utt[2:]) % 8 == 0


def _name(part: str, style: str) -> str:
    return part.lower() if style == "lower" else part


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="ascii")


# --- audio and alignment -----------------------------------------------------------------------------------


def _word_phones(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """TIMIT phone codes of every (accent, word), from one espeak-ng IPA call per accent."""
    out = {}
    for accent in sorted({a for a, _ in pairs}):
        words = sorted(w for a, w in pairs if a == accent)
        for word, ipa in zip(words, ipa_words(words, accent), strict=True):
            out[(accent, word)] = ipa_to_timit(ipa) or ["ax"]
    return out


def _utterance(
    spk: Speaker,
    words: list[str],
    clips: list[np.ndarray],
    phones: dict[tuple[str, str], list[str]],
    rng: np.random.Generator,
    *,
    short: bool,
) -> tuple[np.ndarray, list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """The int16 waveform of one sentence with its word and phone alignments (in samples)."""
    lead, tail = (rng.uniform(0.04, 0.09, 2) if short else rng.uniform(0.12, 0.3, 2)) * RATE
    pos = int(lead)
    pieces: list[tuple[int, np.ndarray]] = []
    wrd: list[tuple[int, int, str]] = []
    phn: list[tuple[int, int, str]] = [(0, pos, "h#")]
    for i, (word, clip) in enumerate(zip(words, clips, strict=True)):
        start = pos
        if i and not short:
            if rng.random() < 0.15:  # a real pause
                gap = int(rng.uniform(0.06, 0.15) * RATE)
                phn.append((pos, pos + gap, "pau"))
                start = pos = pos + gap
            else:  # a short silence that belongs to the next word (its closure, say)
                pos += int(rng.uniform(0.0, 0.025) * RATE)
        pieces.append((pos, clip))
        end = pos + len(clip)
        wrd.append((start, end, word))
        phn += _spread(phones[(spk.voice.accent, word)], start, end)
        pos = end
    total = pos + int(tail)
    if short:  # under the prep's limit whatever the voice's speed (the words alone take well under 2 s)
        total = max(pos + RATE // 100, min(total, SHORT_LIMIT - 1))
    phn.append((pos, total, "h#"))
    signal = np.zeros(total, np.float64)
    for at, clip in pieces:
        signal[at : at + len(clip)] += clip
    peak = max(np.abs(signal).max(), 1.0)
    signal *= spk.loudness * rng.uniform(0.85, 1.15) * 32767 / peak
    audio = add_noise(np.round(signal).astype(np.int16), rng, float(rng.uniform(30, 40)))
    return audio, wrd, phn


# phone duration weights: vowels long, releases and flaps short
_WEIGHTS = {"pcl": 0.8, "tcl": 0.8, "kcl": 0.8, "bcl": 0.7, "dcl": 0.7, "gcl": 0.7, "dx": 0.5, "q": 0.5}
_WEIGHTS |= dict.fromkeys(("p", "t", "k", "b", "d", "g"), 0.5)
_WEIGHTS |= dict.fromkeys(("s", "sh", "z", "zh", "f", "th", "v", "dh", "ch", "jh"), 1.3)
_VOWELS = ("iy", "ih", "ix", "eh", "ey", "ae", "aa", "aw", "ay", "ah", "ao", "oy", "ow", "uh", "uw", "ux", "er")
_WEIGHTS |= dict.fromkeys(_VOWELS + ("ax", "axr"), 2.0)


def _spread(codes: list[str], start: int, end: int) -> list[tuple[int, int, str]]:
    """Phone segments covering [start, end), each as long as its weight says."""
    weights = np.array([_WEIGHTS.get(c, 1.0) for c in codes])
    edges = np.round(start + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (end - start)).astype(int)
    return [(int(a), int(b), c) for a, b, c in zip(edges[:-1], edges[1:], codes, strict=True) if b > a]


# espeak-ng IPA → TIMIT phone codes (longest match first); stops get TIMIT's closure before the release
_IPA = {
    "tʃ": ["tcl", "ch"], "dʒ": ["dcl", "jh"], "aɪ": ["ay"], "aʊ": ["aw"], "eɪ": ["ey"], "oʊ": ["ow"],
    "əʊ": ["ow"], "ɔɪ": ["oy"], "ɪə": ["ih", "ax"], "eə": ["eh", "ax"], "ʊə": ["uh", "ax"], "iː": ["iy"],
    "i": ["iy"], "ɪ": ["ih"], "ᵻ": ["ix"], "ɛ": ["eh"], "e": ["eh"], "eː": ["ey"], "æ": ["ae"], "a": ["ae"],
    "aː": ["aa"], "ɑː": ["aa"], "ɑ": ["aa"], "ɒ": ["aa"], "ʌ": ["ah"], "ɐ": ["ah"], "ə": ["ax"], "ɚ": ["axr"],
    "ɜː": ["er"], "ɜ": ["er"], "ɝ": ["er"], "ɔː": ["ao"], "ɔ": ["ao"], "oː": ["ow"], "o": ["ow"], "ʊ": ["uh"],
    "uː": ["uw"], "u": ["uw"], "ʉː": ["ux"], "ʉ": ["ux"], "p": ["pcl", "p"], "b": ["bcl", "b"],
    "t": ["tcl", "t"], "d": ["dcl", "d"], "k": ["kcl", "k"], "ɡ": ["gcl", "g"], "g": ["gcl", "g"], "f": ["f"],
    "v": ["v"], "θ": ["th"], "ð": ["dh"], "s": ["s"], "z": ["z"], "ʃ": ["sh"], "ʒ": ["zh"], "h": ["hh"],
    "x": ["hh"], "m": ["m"], "n": ["n"], "ŋ": ["ng"], "l": ["l"], "ɫ": ["l"], "ɬ": ["l"], "ɹ": ["r"], "r": ["r"],
    "ɾ": ["dx"], "ʔ": ["q"], "w": ["w"], "ʍ": ["w"], "j": ["y"], "n̩": ["en"], "l̩": ["el"], "m̩": ["em"],
}  # fmt: skip
_IPA_KEYS = sorted(_IPA, key=len, reverse=True)


def ipa_to_timit(ipa: str) -> list[str]:
    """TIMIT phone codes of an IPA string (stress and length marks dropped, unknown symbols skipped)."""
    text = re.sub(r"[ˈˌ.‿\s-]", "", ipa)
    codes, i = [], 0
    while i < len(text):
        key = next((k for k in _IPA_KEYS if text.startswith(k, i)), None)
        if key is None:
            i += 1
            continue
        codes += _IPA[key]
        i += len(key)
    return codes
