"""Corpus readers, data preparation and the synthetic corpora."""
