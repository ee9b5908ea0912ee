"""Time `snakemake -n all` at paper scale (every experiment the config declares) against the baseline of
Snakemake's own start-up (`snakemake --version`), measured in the same run. Prints the ratio last.

    .venv/bin/python bench/bench_dryrun.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import median_seconds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import copy_workflow, tool  # noqa: E402


def command_seconds(cmd: list[str], cwd: Path, repeat: int) -> float:
    """Median wall seconds of running ``cmd`` in ``cwd``."""
    return median_seconds(
        lambda: subprocess.run(cmd, cwd=cwd, check=True, capture_output=True), repeat=repeat, warmup=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = copy_workflow(Path(tmp) / "wf", scale="paper", corpora_root=Path(tmp) / "corpora")
        baseline = command_seconds([tool("snakemake"), "--version"], workdir, args.repeat)
        dryrun = command_seconds([tool("snakemake"), "-n", "--quiet", "all"], workdir, args.repeat)
    print(f"snakemake --version (baseline): {baseline:.2f} s")
    print(f"snakemake -n all, paper scale:  {dryrun:.2f} s (target < 15 s)")
    print(f"ratio dry-run / start-up: {dryrun / baseline:.2f}")


if __name__ == "__main__":
    main()
