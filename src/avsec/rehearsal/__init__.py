"""The paper-scale rehearsal: every paper-scale job kind that trains or attacks, run for a few steps at the
papers' widths and batch sizes on random data of the prepared shapes, timed step by step; and the cost plan
that projects those figures to the full run (README, "Paper scale: rehearse first").

``python -m avsec.rehearsal all`` runs it with only torch, numpy and this library (no Snakemake, ffmpeg,
soundfile, pesq); rule ``rehearsal`` (rules/rehearsal.smk) runs the same jobs through Snakemake or SLURM.
"""
