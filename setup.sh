#!/usr/bin/env bash
# Idempotent set-up: Debian tools (when root), a .venv in the repository root with the pinned environment.
#   bash setup.sh          tools for running the workflow (ffmpeg, espeak-ng)
#   bash setup.sh --test   also what the tests need (slurm-wlm and munge for the local SLURM cluster, sox, chromium
#                          to open the HTML report)
set -euo pipefail
cd "$(dirname "$0")"

need=(ffmpeg espeak-ng)
[ "${1:-}" = "--test" ] && need+=(slurm-wlm munge sox chromium)

missing=()
for pkg in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

PY=${PYTHON:-python3}
stamp=.venv/.avsec-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: creating .venv with the pinned environment (torch is large: a few minutes the first time)"
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    # (grep drops the pip warnings about index locations this machine's pip.conf names but does not have)
    .venv/bin/python -m pip install -q --upgrade pip 2> >(grep -v "is ignored: it is neither" >&2)
    .venv/bin/python -m pip install -q -c requirements.lock -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
    echo "$want" > "$stamp"
fi
echo "setup: ready (.venv/bin has snakemake, dvc, pytest)"
