#!/usr/bin/env bash
# Snakemake's post-deploy script of every env here (envs/<env>.post-deploy.sh links to this file): run once in
# the new env, from the directory Snakemake runs in (the repository root), it installs the avsec library, editable
# and without its dependencies: the env file lists those the env's rules import. (A `-e` line in the env file
# cannot do it: Snakemake copies the env file to .snakemake/conda/ and pip reads relative paths from there.)
set -euo pipefail
if [ ! -f pyproject.toml ] || [ ! -d src/avsec ]; then
    echo "error: $PWD: not the avsec repository root (no pyproject.toml and src/avsec); run snakemake from there" >&2
    exit 1
fi
python -m pip install --quiet --no-deps -e .
