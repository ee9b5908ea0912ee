"""Rule gather_attack_av (paper 4), without torch: an attack's attack_av jobs (:mod:`avsec.avdetect.attack_jobs`),
one folder each, joined into the method's ``attack.json`` and ``examples/``, which detect_av and the report read."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from avsec.avdetect.names import BENIGN
from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path, write_text

RESULT = "result.json"  # in each attack_av job's folder, beside its example videos


def gather_attacks(method: str, folder: str | Path, out: str | Path, examples_dir: str | Path,
                   grid: list[str]) -> dict:  # fmt: skip
    """The benign scores and every setting of ``method``'s ``grid`` (:func:`avsec.avdetect.names.attack_grid`)
    from ``folder`` (one attack_av job's folder each) as one JSON at ``out`` (the benign scores, then the settings
    in the grid's order) and their example videos copied into ``examples_dir``. A folder of a setting no longer
    in the grid is left out, with a note."""
    folder = Path(folder)
    missing = [name for name in (BENIGN, *grid) if not (folder / name / RESULT).is_file()]
    if missing:
        raise InputError(folder, f"no {RESULT} for {', '.join(missing)}: run their attack_av jobs first")
    stale = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in (BENIGN, *grid))
    if stale:
        print(f"note: {folder}: left out (not in the grid): {', '.join(stale)}", file=sys.stderr, flush=True)
    result = json.loads((folder / BENIGN / RESULT).read_text())
    result["settings"] = [json.loads((folder / name / RESULT).read_text()) for name in grid]
    with atomic_path(examples_dir, directory=True) as tmp:
        for name in grid:
            for video in sorted((folder / name).glob("*.mp4")):
                shutil.copyfile(video, Path(tmp) / video.name)
    write_text(out, json.dumps(result, indent=1) + "\n")
    return result
