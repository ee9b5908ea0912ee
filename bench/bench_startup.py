"""What a job pays before it does any work: the wall seconds of ``python workflow/scripts/<rule>.py --help`` (the
interpreter, the imports of the script and the library, argument parsing), against a bare ``python -c "import
torch"`` measured in the same run. The smoke DAG runs about 95 such jobs one after another on 2 cores, so every
second of start-up is about a minute and a half of the README's first command. Prints each script's median and
its excess over torch's import, and last the ratio mean script start / torch import.

    .venv/bin/python bench/bench_startup.py [--repeat 3] [--scripts train_stego attack_av ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], repeat: int) -> float:
    """Median wall seconds of ``repeat`` runs of ``cmd`` (after one untimed run, so the files are cached)."""
    subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True)  # some --help exit 1
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True)  # some --help exit 1
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scripts", nargs="*", help="script names without .py (default: every workflow script)")
    args = parser.parse_args()
    names = args.scripts or sorted(p.stem for p in (ROOT / "workflow/scripts").glob("*.py"))
    torch_s = wall([sys.executable, "-c", "import torch"], args.repeat)
    print(f"baseline: python -c 'import torch': {torch_s:.2f} s (median of {args.repeat})")
    starts = {}
    for name in names:
        starts[name] = wall([sys.executable, f"workflow/scripts/{name}.py", "--help"], args.repeat)
        print(f"{name:24s} {starts[name]:6.2f} s  ({starts[name] - torch_s:+.2f} s beyond torch)", flush=True)
    mean = statistics.mean(starts.values())
    print(f"ratio mean script start / torch import: {mean / torch_s:.2f} ({mean:.2f} s / {torch_s:.2f} s)")


if __name__ == "__main__":
    main()
