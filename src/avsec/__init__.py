"""avsec: reproducible audio-security research workflow (library side, free of Snakemake)."""

__version__ = "0.1.0"
