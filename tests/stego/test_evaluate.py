"""Paper 1's evaluation on tiny in-test shards: both tables, the WAV examples, and a corrupt checkpoint in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avsec.core.errors import InputError
from avsec.stego.evaluate import StegoEvaluation, evaluate_stego


def test_evaluation_reports_both_tables_and_writes_examples(data, model, tiny, tmp_path):
    result = evaluate_stego(model[0], data, tmp_path / "eval.json", tmp_path / "examples", StegoEvaluation(examples=1))
    assert result["clips"] == 6 and result["samples"] == tiny.length
    assert result["train_clips"] == 16  # the model's training clips, recorded in its checkpoint (all 16 train rows)
    for table in ("clean", "noisy"):
        assert set(result[table]) >= {"carrier_mse", "secret_mse", "carrier_snr_db", "secret_snr_db"}
        assert all(np.isfinite(result[table][k]) for k in ("carrier_mse", "secret_mse"))
    assert result["noisy"]["noise_db"] == 60 and np.isfinite(result["chance_secret_snr_db"])
    assert result["seconds_per_clip_hide_reveal"] > 0
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == [
        "0_carrier.wav",
        "0_revealed.wav",
        "0_secret.wav",
        "0_stego.wav",
    ]
    assert json.loads((tmp_path / "eval.json").read_text())["run"] == "hpf_an"


def test_streaming_the_test_split_in_small_batches_gives_the_same_tables(data, model, tmp_path):
    """6 test clips in batches of 4 (a short last batch) and of 2 (the chance pairing crosses every batch edge)
    give the tables of one batch of 16, and the same examples."""
    runs = {}
    for batch in (16, 4, 2):
        out = tmp_path / str(batch)
        runs[batch] = evaluate_stego(model[0], data, out / "eval.json", out / "examples", StegoEvaluation(batch=batch))
    for batch in (4, 2):
        for key in ("clean", "noisy", "chance_secret_snr_db"):
            assert runs[batch][key] == pytest.approx(runs[16][key], rel=1e-4), (batch, key)
        for name in ("0_stego.wav", "1_revealed.wav"):
            assert (tmp_path / str(batch) / "examples" / name).read_bytes() == (
                tmp_path / "16" / "examples" / name
            ).read_bytes()


def test_a_corrupt_checkpoint_is_one_line_naming_it(data, model, tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(model[0].read_bytes()[:2000])
    with pytest.raises(InputError, match=r"model\.pt: corrupt or unreadable checkpoint") as info:
        evaluate_stego(bad, data, tmp_path / "eval.json", tmp_path / "examples", StegoEvaluation())
    assert "\n" not in str(info.value) and not (tmp_path / "eval.json").exists()
