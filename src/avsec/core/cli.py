"""Command-line entry points: ``avsec synth`` and the logging/error handling shared by workflow/scripts/."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from avsec.core.errors import AvsecError


def run(main: Callable[[], object]) -> None:
    """Run a workflow script's ``main``.

    ``--log PATH`` (taken out of ``sys.argv`` here, so every script has it) sends stdout and stderr, of this
    process and of the programs it starts, to PATH. A known problem (bad input, bad config) ends in one line
    ``error: <file or key>: <problem>`` in the log and on the terminal, exit status 1; anything else keeps its
    traceback in the log.
    """
    terminal = os.fdopen(os.dup(2), "w", errors="backslashreplace")  # a file name may not be UTF-8
    log = _pop_option(sys.argv, "--log")
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(fd, 1), os.dup2(fd, 2)
        os.close(fd)
    print(" ".join(sys.argv), file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        main()
    except AvsecError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if log:
            print(f"error: {exc} (log: {log})", file=terminal, flush=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except BaseException:
        if log:
            print(f"error: {sys.argv[0]} failed, see {log}", file=terminal, flush=True)
        raise
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def _pop_option(argv: list[str], name: str) -> str | None:
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
    return None


def main(argv: list[str] | None = None) -> None:
    """``avsec synth CORPUS OUT [--seed N] [--key value ...]``: generate a synthetic corpus outside the workflow."""
    from avsec.core.config import parse_flags
    from avsec.data.synth import CORPORA, make_corpus

    parser = argparse.ArgumentParser(prog="avsec", description="avsec command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="generate a synthetic corpus in its real layout")
    synth.add_argument("corpus", choices=CORPORA)
    synth.add_argument("out", help="directory to create")
    synth.add_argument("--seed", type=int, default=1024)
    args, rest = parser.parse_known_args(argv)
    run(lambda: make_corpus(args.corpus, args.out, seed=args.seed, sizes=parse_flags(rest)))
