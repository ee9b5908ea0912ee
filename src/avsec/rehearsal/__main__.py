"""``python -m avsec.rehearsal {data,run,cost,all}``: the paper-scale rehearsal (README, "Paper scale: rehearse
first"). ``all`` is the whole of it on one machine: ``python -m avsec.rehearsal all --out results/rehearsal``.

Needs the library with PyTorch, NumPy, SciPy, scikit-learn and tqdm (avsec.core.lazy); config.yaml is read with
PyYAML where it is installed, else pass the JSON copy that ``data`` writes beside the data
(``--config results/rehearsal/data/config.json``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from avsec.core.cli import run
from avsec.core.config import load_config
from avsec.io.atomic import write_text
from avsec.rehearsal.cost import write_cost
from avsec.rehearsal.jobs import JOBS, check_rehearsal, write_data
from avsec.rehearsal.run import rehearse

DEFAULT_RETRIES = 3  # slurm/config.yaml's `retries`, when it cannot be read


def profile_retries(repo: Path) -> int:
    """The SLURM profile's ``retries`` (how often a job that exits to resume is resubmitted)."""
    try:
        import yaml

        return int(yaml.safe_load((repo / "slurm" / "config.yaml").read_text())["retries"])
    except (ImportError, OSError, KeyError, TypeError, ValueError):
        return DEFAULT_RETRIES


def _data(config: dict, out: Path) -> None:
    sizes = write_data(out, config)
    write_text(out / "config.json", json.dumps(config, indent=1) + "\n")
    print(f"rehearsal data in {out}: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sizes.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m avsec.rehearsal", description=__doc__, allow_abbrev=False)
    parser.add_argument("command", choices=("data", "run", "cost", "all"))
    parser.add_argument("--config", default="config.yaml", help="config.yaml, or the JSON copy data writes")
    parser.add_argument("--out", required=True, help="data: its folder; run: the job's JSON; cost, all: the folder")
    parser.add_argument("--data", help="run: the rehearsal data (default for all: <out>/data)")
    parser.add_argument("--job", action="append", help=f"run: the job; all: only these ({', '.join(JOBS)})")
    parser.add_argument("--steps", type=int, help="steps per job, the first untimed (default rehearsal.steps)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads per job (0: torch's default)")
    parser.add_argument("--repo", default=".", help="the repository root (its workflow/scripts run the jobs)")
    parser.add_argument("records", nargs="*", help="cost: the jobs' records (default: <out>/<job>.json, every job)")
    args = parser.parse_args()
    config = load_config(args.config)
    check_rehearsal(config)
    steps = args.steps or config["rehearsal"]["steps"]
    out, repo = Path(args.out), Path(args.repo)
    if args.command == "data":
        _data(config, out)
    elif args.command == "run":
        if not args.data or not args.job or len(args.job) != 1:
            sys.exit("error: run needs --data and one --job")
        rehearse(args.job[0], config, Path(args.data), out, steps, args.threads, repo)
    elif args.command == "cost":
        paths = args.records or [out / f"{name}.json" for name in config["rehearsal"]["jobs"]]
        records = [json.loads(Path(path).read_text()) for path in paths]
        write_cost(records, config, out, profile_retries(repo))
    else:
        data = Path(args.data) if args.data else out / "data"
        if not (data / "config.json").is_file():
            _data(config, data)
        records = [rehearse(name, config, data, out / f"{name}.json", steps, args.threads, repo)
                   for name in args.job or JOBS]  # fmt: skip
        rows = write_cost(records, config, out, profile_retries(repo))
        print((out / "cost.md").read_text(), flush=True)
        print(f"{sum(bool(r['flags']) for r in rows)} of {len(rows)} job kinds flagged", flush=True)


if __name__ == "__main__":
    run(main)
