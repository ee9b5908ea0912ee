"""Paper 3's training on tiny in-test shards: losses fall, resumption through the shared trainer is exact, images
of the wrong size fail in one line, the enhancer trains."""

from __future__ import annotations

import csv
import os
import signal

import numpy as np
import pytest
import torch

from avsec.core.errors import InputError
from avsec.imgstego.train import HideTask, epochs_for, train_model
from avsec.train import Interrupted, load_checkpoint


def test_images_of_the_wrong_size_fail_in_one_line(timit, tiny, tmp_path):
    other = tiny.write_images(tmp_path / "voc", (20, 30), count=1)
    with pytest.raises(InputError, match="images are 20×30, the spectrogram is 64×33"):
        train_model("base", timit, other, tmp_path / "m.pt", tiny.training(epochs=1))
    assert not (tmp_path / "m.pt").exists()


def test_training_learns_to_hide_and_reveal(trained, tiny):
    out, history = trained
    assert len(history) == 60 and {"loss", "carrier_mse", "image_mae"} <= set(history[0])
    first, last = np.mean([h["loss"] for h in history[:3]]), np.mean([h["loss"] for h in history[-3:]])
    assert last < 0.7 * first, (first, last)
    ckpt = load_checkpoint(out, "imgstego")
    assert ckpt["front"]["frames"] == 64 and ckpt["weights"] == tiny.weights and ckpt["arch"]["width"] == 4
    assert not out.with_name("model.pt.resume").exists()


def test_a_signalled_run_resumes_to_the_same_weights_and_history(timit, voc, tiny, tmp_path, monkeypatch):
    settings = tiny.training(epochs=3, log_every=2)
    history = train_model("base", timit, voc, tmp_path / "ref.pt", settings, tmp_path / "ref.csv")
    calls = {"n": 0}
    step = HideTask.step

    def interrupting(self, batch, epoch):
        calls["n"] += 1
        if calls["n"] == 4:
            os.kill(os.getpid(), signal.SIGUSR1)
        return step(self, batch, epoch)

    monkeypatch.setattr(HideTask, "step", interrupting)
    with pytest.raises(Interrupted):
        train_model("base", timit, voc, tmp_path / "run.pt", settings, tmp_path / "run.csv")
    assert (tmp_path / "run.pt.resume").exists() and not (tmp_path / "run.pt").exists()
    monkeypatch.setattr(HideTask, "step", step)
    train_model("base", timit, voc, tmp_path / "run.pt", settings, tmp_path / "run.csv")
    ref, run = (load_checkpoint(tmp_path / n, "imgstego")["modules"]["model"] for n in ("ref.pt", "run.pt"))
    assert all(torch.equal(ref[k], run[k]) for k in ref)
    # the history CSV: every 2nd step and each epoch's end, the same after the resume
    assert (tmp_path / "run.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    with open(tmp_path / "ref.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "step", "loss", "carrier_mse", "image_mae"] and len(rows) > len(history) == 3
    per_epoch = int(rows[-1]["step"]) // 3
    ends = sorted({*range(2, 3 * per_epoch + 1, 2), per_epoch, 2 * per_epoch, 3 * per_epoch})
    assert [int(row["step"]) for row in rows] == ends


def test_the_enhancer_trains_on_revealed_images(enhancer):
    _, history = enhancer
    assert len(history) == 2 and {"loss", "revealed_mae", "mae"} <= set(history[0])


def test_training_length_in_steps_runs_the_epochs_that_reach_them(tiny):
    """Paper 3's length is ~203 K steps whatever VOC's size: ``train_steps`` gives the whole epochs that reach it
    (at least the steps, less than an epoch more); without it, ``epochs`` as given."""
    s = tiny.training(train_steps=10, batch=4, epochs=99)
    assert epochs_for(s, 9) == 4  # 3 steps an epoch: 12 steps
    assert epochs_for(s, 8) == 5  # 2 steps an epoch: 10 steps
    assert epochs_for(s, 80) == 1  # 20 steps an epoch
    for rows in range(1, 200, 7):
        per_epoch = -(-rows // 4)
        assert 10 <= epochs_for(s, rows) * per_epoch < 10 + per_epoch
    assert epochs_for(tiny.training(epochs=7, batch=4), 9) == 7
