"""Audiovisual corpora of paper 4 (GRID, LRW): readers (:mod:`.corpora`), face landmarks (:mod:`.landmarks`), the
mouth region's sizes and normalisation (:mod:`.roi`), mouth crops (:mod:`.mouth`), audio features (:mod:`.audio`)
and the preparation steps (:mod:`.prep`)."""
