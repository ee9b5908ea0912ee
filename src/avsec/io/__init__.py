"""File I/O: atomic writes, audio files, prepared-data shards."""
