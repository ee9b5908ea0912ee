"""What every part of avsec shares: config.yaml handling (:mod:`.config`), the scripts' entry point (:mod:`.cli`)
and the one-line errors (:mod:`.errors`)."""
