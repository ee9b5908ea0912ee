"""Paper 4's names and config checks, without torch (rules/common.smk imports this when the workflow starts).

Each attack runs on one corpus, as in the paper (§5.1): FGSM and BIM on LRW's word recogniser, targeted C&W
with CTC on GRID's sentence recogniser. A setting of the ε grid is named ``<method>_a<ε_A>_v<ε_V>``, and a C&W
setting adds its target sentence's initials (``cw_a512_v4_bbaazp``).
"""

from __future__ import annotations

import re

from avsec.core.config import CONFIG_FILE
from avsec.core.errors import ConfigError

HEADS = {"lrw": "word", "grid": "ctc"}  # LRW: word classification (CE); GRID: sentences (CTC)
ATTACK_CORPUS = {"fgsm": "lrw", "bim": "lrw", "cw": "grid"}  # the paper's pairing (§5.1)
SPLITS = ("train", "val", "test")
FIGURE2_CORPORA = tuple(c for m, c in ATTACK_CORPUS.items() if m == "bim")  # Figure 2 shows BIM (LRW)
CORPUS_ATTACKS = {corpus: tuple(m for m, c in ATTACK_CORPUS.items() if c == corpus) for corpus in ("lrw", "grid")}


def config_name(method: str, eps_audio: int, eps_video: int, target: str = "") -> str:
    base = f"{method}_a{eps_audio}_v{eps_video}"
    return f"{base}_{initials(target)}" if target else base


def initials(sentence: str) -> str:
    """The paper's short name of a GRID sentence (Table 4): each word's first letter ("bin blue at a zero
    please" → "bbaazp")."""
    return "".join(word[0] for word in sentence.split())


FIGURE2_EXAMPLES = "examples.npz"  # rule figure2_av's arrays and summary (avsec.avdetect.figure2), read by the report
FIGURE2_SUMMARY = "examples.json"
BENIGN = "benign"  # rule attack_av's job that scores the clean clips of a method's splits
SETTING = re.compile(r"(fgsm|bim|cw)_a(\d+)_v(\d+)(?:_([a-z]+))?")


def attack_grid(method: str, eps_audio, eps_video, targets=()) -> list[str]:
    """The setting names of ``method``'s grid, one attack_av job each: every ε_A × ε_V (× C&W target, by its
    initials), in the paper's row order (ε_V, then ε_A, descending; targets as listed)."""
    grid = sorted(
        ((int(a), int(v)) for v in _as_list(eps_video) for a in _as_list(eps_audio)), key=lambda av: (-av[1], -av[0])
    )
    if method == "cw":
        return [f"{config_name(method, a, v)}_{t}" for a, v in grid for t in _as_list(targets)]
    return [config_name(method, a, v) for a, v in grid]


def parse_setting(name: str) -> tuple[str, int, int, str]:
    """(method, ε_A, ε_V, target initials or "") of a setting name; ConfigError if it is not one."""
    match = SETTING.fullmatch(name)
    if not match:
        raise ConfigError(f"{name!r} is not an attack setting (<method>_a<eps_A>_v<eps_V>[_<target initials>])")
    method, eps_a, eps_v, target = match.groups()
    return method, int(eps_a), int(eps_v), target or ""


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_avdetect(config: dict) -> None:
    """C&W's sentences are GRID sentences with distinct initials, and the scale's targets are among them."""
    sentences = config["avdetect"]["cw"]["sentences"]
    for sentence in sentences:
        if not re.fullmatch(r"[a-z]+( [a-z]+){5}", sentence):
            raise ConfigError(
                f"{CONFIG_FILE}: avdetect.cw.sentences: {sentence!r} is not a GRID sentence (six lower-case words)"
            )
    known = [initials(s) for s in sentences]
    if len(set(known)) != len(known):
        raise ConfigError(f"{CONFIG_FILE}: avdetect.cw.sentences: two sentences share their initials")
    unknown = [t for t in config["scale"]["avdetect"]["cw"]["targets"] if t not in known]
    if unknown:
        raise ConfigError(
            f"{CONFIG_FILE}: scales.{config['scale']['name']}.avdetect.cw.targets: {', '.join(unknown)} is not the "
            f"initials of a sentence of avdetect.cw.sentences ({', '.join(known)})"
        )
