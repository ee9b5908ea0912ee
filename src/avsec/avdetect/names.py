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
CORPUS_ATTACKS = {corpus: tuple(m for m, c in ATTACK_CORPUS.items() if c == corpus) for corpus in ("lrw", "grid")}


def config_name(method: str, eps_audio: int, eps_video: int, target: str = "") -> str:
    base = f"{method}_a{eps_audio}_v{eps_video}"
    return f"{base}_{initials(target)}" if target else base


def initials(sentence: str) -> str:
    """The paper's short name of a GRID sentence (Table 4): each word's first letter ("bin blue at a zero
    please" → "bbaazp")."""
    return "".join(word[0] for word in sentence.split())


def check_avdetect(config: dict) -> None:
    """C&W's target sentences are GRID sentences, and the scale asks for no more targets than there are."""
    for target in config["avdetect"]["cw"]["targets"]:
        if not re.fullmatch(r"[a-z]+( [a-z]+){5}", target):
            raise ConfigError(
                f"{CONFIG_FILE}: avdetect.cw.targets: {target!r} is not a GRID sentence (six lower-case words)"
            )
    cw = config["scale"]["avdetect"]["cw"]
    if cw["num_targets"] > len(config["avdetect"]["cw"]["targets"]):
        raise ConfigError(
            f"{CONFIG_FILE}: scales.{config['scale']['name']}.avdetect.cw.num_targets: {cw['num_targets']} is "
            f"more than the {len(config['avdetect']['cw']['targets'])} sentences of avdetect.cw.targets"
        )
