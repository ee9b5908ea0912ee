"""The shared trainer (docs/architecture.md) on a tiny seeded regression task: resumption after a signal or a kill
gives exactly the uninterrupted run, stale and corrupt resume files are set aside, checkpoints are atomic and fail in
one line, the data order is a function of (seed, epoch), and bf16 autocast touches CUDA only."""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from avsec.advgan.nets import Discriminator, Generator
from avsec.core.errors import AvsecError, InputError
from avsec.train import Interrupted, TrainSettings, fit, load_checkpoint, load_state, save_checkpoint
from avsec.train.trainer import autocast, epoch_order, flat_for
from conftest import REPO

ROWS, BATCH, EPOCHS = 50, 8, 3
STEPS = -(-ROWS // BATCH)  # 7 steps per epoch, the last one a batch of 2


def data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(11)
    x = torch.randn(ROWS, 4, generator=generator)
    return x, x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(ROWS, generator=generator)


class Regression:
    """A two-layer regressor with dropout (so the global RNG matters), Adam and a step-decay schedule.

    ``hook(n)`` runs at the end of the n-th step this object takes (counting from 1)."""

    def __init__(self, hook=None, lr: float = 0.05):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 1))
        self.modules = {"model": self.model}
        self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=lr)}
        self.schedulers = {"model": torch.optim.lr_scheduler.StepLR(self.optimizers["model"], 1, gamma=0.5)}
        self.hook, self.taken, self.batches = hook, 0, []

    def step(self, batch, epoch):
        x, y = batch
        self.batches.append((epoch, x.shape[0]))
        loss = F.mse_loss(self.model(x)[:, 0], y)
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["model"].step()
        self.taken += 1
        if self.hook:
            self.hook(self.taken)
        return {"loss": loss.item(), "first": float(x[0, 0])}  # "first" records the batch order

    def end_epoch(self, epoch):
        assert not self.model.training
        device = next(self.model.parameters()).device
        x, y = (t.to(device) for t in data())
        return {"val": F.mse_loss(self.model(x)[:, 0], y).item()}


def settings(**kw) -> TrainSettings:
    return TrainSettings(**{"epochs": EPOCHS, "batch": BATCH, "seed": 7, "device": "cpu", "checkpoint_every": 0, **kw})


def outcome(task: Regression, history: list) -> dict:
    return {
        "modules": {k: m.state_dict() for k, m in task.modules.items()},
        "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in task.schedulers.items()},
        "history": history,
        "rng": torch.get_rng_state(),
    }


def assert_same(a, b, where: str = "") -> None:
    """Exact equality of nested dicts, lists, tensors and numbers."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, in this process."""
    task = Regression()
    history = fit(task, data(), settings(), tmp_path_factory.mktemp("ref") / "resume.pt", desc="ref")
    assert len(history) == EPOCHS and len(task.batches) == EPOCHS * STEPS
    assert task.batches[:STEPS] == [(0, BATCH)] * (STEPS - 1) + [(0, ROWS % BATCH)]
    return outcome(task, history)


def signal_self(at: int, signum=signal.SIGUSR1):
    return lambda n: os.kill(os.getpid(), signum) if n == at else None


# ---- resumption in this process ----------------------------------------------------------------------------------
# Resumed after an epoch's last step, the scheduler steps before any optimizer step of the new process: PyTorch
# warns, but the schedule is unchanged (the comparison is exact).
@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
@pytest.mark.parametrize("at", [3, STEPS, STEPS + 5, 3 * STEPS - 1], ids=["mid-epoch", "epoch-end", "epoch-2", "last"])
def test_signal_then_resume_equals_uninterrupted(tmp_path, reference, at):
    resume = tmp_path / "resume.pt"
    handler = signal.getsignal(signal.SIGUSR1)
    epoch, step = (at - 1) // STEPS, (at - 1) % STEPS + 1
    with pytest.raises(Interrupted, match=f"signal {int(signal.SIGUSR1)} at epoch {epoch + 1} step {step};"):
        fit(Regression(hook=signal_self(at)), data(), settings(), resume, desc="run")
    saved = load_checkpoint(resume, "resume")
    assert (saved["epoch"], saved["step"], len(saved["history"])) == (epoch, step, epoch)
    assert signal.getsignal(signal.SIGUSR1) is handler  # the trainer put the handler back
    task = Regression()
    history = fit(task, data(), settings(), resume, desc="run")
    assert len(task.batches) == EPOCHS * STEPS - at  # only the steps not yet taken
    assert_same(outcome(task, history), reference)


def test_the_checkpoint_interval_and_device_do_not_invalidate_a_resume_file(tmp_path, reference):
    resume = tmp_path / "resume.pt"
    with pytest.raises(Interrupted):
        fit(Regression(hook=signal_self(4)), data(), settings(checkpoint_every=2), resume, desc="run")
    task = Regression()
    history = fit(task, data(), settings(checkpoint_every=5, device="cpu:0"), resume, desc="run")
    assert len(task.batches) == EPOCHS * STEPS - 4
    assert_same(outcome(task, history), reference)


def test_resume_file_from_other_settings_is_set_aside(tmp_path, capsys):
    resume = tmp_path / "resume.pt"
    with pytest.raises(Interrupted):
        fit(Regression(hook=signal_self(4)), data(), settings(fingerprint={"lr": 0.05}), resume, desc="run")
    old = load_checkpoint(resume, "resume")
    capsys.readouterr()
    other = settings(fingerprint={"lr": 0.01})
    task = Regression(lr=0.01)
    history = fit(task, data(), other, resume, desc="run")
    assert "set aside as resume.pt.stale, starting over" in capsys.readouterr().err
    assert len(task.batches) == EPOCHS * STEPS  # from the start
    assert_same(load_checkpoint(tmp_path / "resume.pt.stale", "resume"), old)
    resumed = outcome(task, history)
    fresh = Regression(lr=0.01)
    assert_same(resumed, outcome(fresh, fit(fresh, data(), other, tmp_path / "fresh.pt", desc="ref")))


@pytest.mark.parametrize("content", ["garbage", "truncated", "victim"])
def test_unreadable_resume_file_is_discarded_with_a_warning(tmp_path, capsys, reference, content):
    resume = tmp_path / "resume.pt"
    if content == "garbage":
        resume.write_bytes(b"not a checkpoint at all")
    else:
        with pytest.raises(Interrupted):
            fit(Regression(hook=signal_self(4)), data(), settings(), resume, desc="run")
        if content == "truncated":
            resume.write_bytes(resume.read_bytes()[: resume.stat().st_size // 2])
        else:
            save_checkpoint(resume, {"kind": "victim", "modules": {}})
    capsys.readouterr()
    task = Regression()
    history = fit(task, data(), settings(), resume, desc="run")
    err = capsys.readouterr().err
    assert f"warning: {resume}: " in err and "starting over" in err
    assert len(task.batches) == EPOCHS * STEPS
    assert_same(outcome(task, history), reference)


def test_no_rows_is_an_error(tmp_path):
    with pytest.raises(AvsecError, match="no training rows"):
        fit(Regression(), (torch.zeros(0, 4), torch.zeros(0)), settings(), tmp_path / "r.pt", desc="empty")


# ---- the history CSV (avsec.train.history) -----------------------------------------------------------------------
def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


class Recording(Regression):
    """Records each step's loss, to recompute the CSV's window means."""

    def step(self, batch, epoch):
        scalars = super().step(batch, epoch)
        self.losses = [*getattr(self, "losses", []), scalars["loss"]]
        return scalars


def test_history_csv_has_a_row_per_epoch_equal_to_the_returned_history(tmp_path, reference):
    path = tmp_path / "sub" / "history.csv"
    history = fit(Regression(), data(), settings(), tmp_path / "resume.pt", desc="run", history_csv=path)
    assert_same(history, reference["history"])
    rows = csv_rows(path)
    assert list(rows[0]) == ["epoch", "step", "loss", "first", "val"]
    assert [(row["epoch"], row["step"]) for row in rows] == [(str(e), str(e * STEPS)) for e in range(1, EPOCHS + 1)]
    for row, record in zip(rows, history, strict=True):
        assert all(float(row[key]) == record[key] for key in ("loss", "first", "val"))  # exact: repr round-trips
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.csv"]  # no temporary file left


def test_history_csv_every_n_steps_averages_the_steps_since_the_previous_row(tmp_path):
    task = Recording()
    path = tmp_path / "history.csv"
    history = fit(task, data(), settings(log_every=3), tmp_path / "resume.pt", desc="run", history_csv=path)
    rows = csv_rows(path)
    # every 3rd step over all epochs, and each epoch's last (7, 14, 21); 21 is both
    ends = [3, 6, 7, 9, 12, 14, 15, 18, 21]
    assert [int(row["step"]) for row in rows] == ends
    assert [int(row["epoch"]) for row in rows] == [(end - 1) // STEPS + 1 for end in ends]
    for start, row in zip([0, *ends], rows, strict=False):
        window = task.losses[start : int(row["step"])]
        assert float(row["loss"]) == pytest.approx(sum(window) / len(window), rel=1e-12)
    # the end-of-epoch measure sits on the epochs' last rows only, and equals the returned history's
    assert [row["val"] for row in rows if int(row["step"]) % STEPS] == [""] * 6
    assert [float(row["val"]) for row in rows if not int(row["step"]) % STEPS] == [r["val"] for r in history]


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
@pytest.mark.parametrize("at", [2, 4, STEPS, STEPS + 2, 3 * STEPS - 1], ids=["in-window", "after-row", "epoch-end",
                                                                            "epoch-2", "last"])  # fmt: skip
def test_a_resumed_run_writes_the_same_history_csv(tmp_path, at):
    every = settings(log_every=3, checkpoint_every=2)
    fit(Recording(), data(), every, tmp_path / "ref.pt", desc="ref", history_csv=tmp_path / "ref.csv")
    path, resume = tmp_path / "history.csv", tmp_path / "resume.pt"
    with pytest.raises(Interrupted):
        fit(Regression(hook=signal_self(at)), data(), every, resume, desc="run", history_csv=path)
    saved = load_checkpoint(resume, "resume")
    assert csv_rows(path) == csv_rows_of(saved["log"]["rows"])  # the CSV on disk is the resume file's rows
    fit(Regression(), data(), every, resume, desc="run", history_csv=path)
    assert path.read_bytes() == (tmp_path / "ref.csv").read_bytes()


def csv_rows_of(rows: list[dict]) -> list[dict]:
    """Rows as csv.DictReader gives them back."""
    from avsec.train.history import HistoryLog

    log = HistoryLog(None, 0, {"rows": rows})
    return list(csv.DictReader(io.StringIO(log.csv())))


def test_a_failed_history_write_keeps_the_previous_csv(tmp_path, monkeypatch):
    from avsec.train import history as history_module

    path = tmp_path / "job" / "history.csv"
    fit(Regression(), data(), settings(epochs=1), tmp_path / "r.pt", desc="run", history_csv=path)
    before = path.read_bytes()

    def full(self, text, *args, **kwargs):  # half the text reaches the disk, then it is full
        with open(self, "w") as fh:
            fh.write(text[: len(text) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError, match="No space"):
        history_module.HistoryLog(path, 0, {"rows": [{"epoch": 9, "step": 9}]}).write()
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == ["history.csv"]


# ---- resumption across processes: SIGTERM from outside, kill -9 after a periodic checkpoint ----------------------
SCRIPT = """
import os, signal, sys
import torch
sys.path[:0] = [{here!r}, {tests!r}]  # test_trainer and the conftest it imports
from avsec.core.cli import run
from avsec.train import fit, save_checkpoint
from test_trainer import Regression, data, outcome, settings

torch.set_num_threads(1)
out, resume, mode, at, every = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])


def wait_for_signal(n):
    if n == at:
        r, w = os.pipe()
        os.set_blocking(w, False)
        old = signal.set_wakeup_fd(w)
        print("READY", flush=True)
        os.read(r, 1)  # returns once a signal arrived; the trainer's handler has recorded it by the next line
        signal.set_wakeup_fd(old)


def kill_self(n):
    if n == at:
        os.kill(os.getpid(), signal.SIGKILL)


def main():
    hook = {{"wait": wait_for_signal, "kill": kill_self, "plain": None}}[mode]
    task = Regression(hook=hook)
    csv = os.path.join(os.path.dirname(out), "history.csv")
    history = fit(task, data(), settings(checkpoint_every=every, log_every=3), resume, desc="sub", history_csv=csv)
    save_checkpoint(out, {{"kind": "test", **outcome(task, history)}})
    os.unlink(resume)


run(main)
"""


def train(tmp_path: Path, name: str, mode: str = "plain", at: int = 0, every: int = 0, **popen) -> subprocess.Popen:
    script = tmp_path / "train.py"
    if not script.exists():
        script.write_text(SCRIPT.format(here=str(Path(__file__).parent), tests=str(REPO / "tests")))
    cmd = [sys.executable, str(script), str(tmp_path / f"{name}.pt"), str(tmp_path / "resume.pt"), mode, str(at)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen([*cmd, str(every)], text=True, stderr=subprocess.PIPE, env=env, **popen)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


@pytest.fixture(scope="module")
def subprocess_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("subref")
    rc, err = finish(train(tmp, "out"))
    assert rc == 0, err
    return {**load_checkpoint(tmp / "out.pt", "test"), "csv": (tmp / "history.csv").read_text()}


def assert_same_run(tmp_path: Path, reference: dict) -> None:
    """The finished run in ``tmp_path`` equals the uninterrupted one: checkpoint and history CSV."""
    assert (tmp_path / "history.csv").read_text() == reference["csv"]
    assert_same(load_checkpoint(tmp_path / "out.pt", "test"), {k: v for k, v in reference.items() if k != "csv"})


def test_sigterm_from_outside_then_rerun_resumes_exactly(tmp_path, subprocess_reference):
    proc = train(tmp_path, "out", "wait", at=STEPS + 2, stdout=subprocess.PIPE)
    lines = [proc.stdout.readline().strip() for _ in range(2)]
    assert lines[-1] == "READY", lines
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc)
    assert rc != 0
    assert f"error: sub: stopped by signal {int(signal.SIGTERM)} at epoch 2 step 2; rerun to resume" in err
    assert not (tmp_path / "out.pt").exists()
    saved = load_checkpoint(tmp_path / "resume.pt", "resume")
    assert (saved["epoch"], saved["step"], len(saved["history"])) == (1, 2, 1)
    rc, err = finish(train(tmp_path, "out"))
    assert rc == 0, err
    assert "resuming from" in err and "epoch 2, step 2" in err
    assert not (tmp_path / "resume.pt").exists()
    assert_same_run(tmp_path, subprocess_reference)


def test_kill_9_after_a_periodic_checkpoint_resumes_from_it(tmp_path, subprocess_reference):
    # checkpoints every 3 steps of an epoch (and at each epoch's end); killed at step 5 of epoch 2
    rc, err = finish(train(tmp_path, "out", "kill", at=STEPS + 5, every=3))
    assert rc == -signal.SIGKILL, err
    saved = load_checkpoint(tmp_path / "resume.pt", "resume")
    assert (saved["epoch"], saved["step"]) == (1, 3)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    # the CSV on disk holds the rows logged up to the resume file (epoch 2, step 3 = step 10): steps 3, 6, 7 (epoch
    # 1's end) and 9
    assert [row["step"] for row in csv_rows(tmp_path / "history.csv")] == ["3", "6", "7", "9"]
    rc, err = finish(train(tmp_path, "out", every=3))
    assert rc == 0, err
    assert "epoch 2, step 3" in err
    assert_same_run(tmp_path, subprocess_reference)


# ---- checkpoint files --------------------------------------------------------------------------------------------
def test_checkpoint_round_trip(tmp_path):
    g = Generator(0.25)
    save_checkpoint(tmp_path / "g.pt", {"kind": "generator", "width": 0.25, "modules": {"generator": g.state_dict()}})
    ckpt = load_checkpoint(tmp_path / "g.pt", "generator")
    torch.manual_seed(1)
    other = load_state(tmp_path / "g.pt", Generator(0.25), ckpt["modules"]["generator"])
    assert_same(other.state_dict(), g.state_dict())


def test_failed_save_leaves_nothing_at_the_target(tmp_path, monkeypatch):
    target = tmp_path / "model.pt"

    def broken(obj, f, *args, **kw):
        f.write(b"PK\x03\x04 half a zip")  # save_checkpoint hands torch.save an open file
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(target, {"kind": "victim"})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    save_checkpoint(target, {"kind": "victim", "n": 1})
    with pytest.raises(Exception):  # noqa: B017 - whatever pickle raises for a lambda
        save_checkpoint(target, {"kind": "victim", "n": 2, "bad": lambda: 0})
    assert list(tmp_path.iterdir()) == [target]
    assert load_checkpoint(target)["n"] == 1  # the earlier file is untouched


class Opaque:
    pass


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "checkpoint not found"),
        ("truncated", "corrupt or unreadable checkpoint"),
        ("text", "corrupt or unreadable checkpoint"),
        ("unsafe", "corrupt or unreadable checkpoint"),
        ("tensor", "not an avsec checkpoint"),
        ("no-kind", "not an avsec checkpoint"),
        ("wrong-kind", "is a 'victim' checkpoint, expected 'generator'"),
    ],
)
def test_load_checkpoint_errors_name_the_file(tmp_path, case, message):
    path = tmp_path / f"{case}.pt"
    good = {"kind": "victim", "modules": {"model": nn.Linear(64, 64).state_dict()}}
    if case == "truncated":
        torch.save(good, path)
        path.write_bytes(path.read_bytes()[:-2000])
    elif case == "text":
        path.write_text("kind: victim\n")
    elif case == "unsafe":
        torch.save({"kind": "victim", "object": Opaque()}, path)  # weights_only refuses arbitrary classes
    elif case == "tensor":
        torch.save(torch.zeros(3), path)
    elif case == "no-kind":
        torch.save({"modules": {}}, path)
    elif case == "wrong-kind":
        torch.save(good, path)
    with pytest.raises(InputError) as info:
        load_checkpoint(path, "generator")
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("make", "state", "detail"),
    [
        (lambda: Discriminator(0.125), lambda: Generator(0.125).state_dict(), "Discriminator architecture"),
        (lambda: Generator(1.0), lambda: Generator(0.5).state_dict(), "size mismatch"),
        (lambda: Generator(0.5), lambda: {**Generator(0.5).state_dict(), "extra": torch.zeros(1)}, "Unexpected"),
    ],
    ids=["generator-into-discriminator", "width-0.5-into-1", "extra-key"],
)
def test_load_state_of_another_architecture_is_one_line(tmp_path, make, state, detail):
    path = tmp_path / "g.pt"
    with pytest.raises(InputError) as info:
        load_state(path, make(), state())
    message = str(info.value)
    assert message.startswith(f"{path}: does not match the ") and detail in message
    assert "\n" not in message and len(message) < 400


# ---- data order and precision ------------------------------------------------------------------------------------
def test_epoch_order():
    orders = [epoch_order(1000, 7, epoch) for epoch in range(4)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(1000))
    assert len({tuple(o.tolist()) for o in orders}) == 4  # a new order every epoch
    torch.manual_seed(123)  # ... independent of the global RNG
    assert torch.equal(epoch_order(1000, 7, 2), orders[2])
    assert not torch.equal(epoch_order(1000, 8, 2), orders[2])  # and of the seed


def test_fit_draws_batches_in_epoch_order(reference):
    """The "first" scalar (first feature of each batch's first row) averages to the same value per epoch."""
    firsts = [record["first"] for record in reference["history"]]
    assert len(set(firsts)) == EPOCHS
    x, _ = data()
    for epoch, first in enumerate(firsts):
        rows = epoch_order(ROWS, 7, epoch)[::BATCH]
        assert first == pytest.approx(float(x[rows, 0].mean()), rel=1e-6)


class ReadRows(torch.utils.data.Dataset):
    """data() served row by row as a reader over shards would, recording the process that read each batch."""

    def __init__(self):
        self.x, self.y = data()

    def __len__(self):
        return ROWS

    def __getitems__(self, rows):
        return self.x[rows], self.y[rows], torch.full((len(rows),), os.getpid())


class ReaderRegression(Regression):
    def step(self, batch, epoch):
        *batch, pids = batch
        self.readers = getattr(self, "readers", set()) | set(pids.tolist())
        return super().step(tuple(batch), epoch)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_dataset_read_in_worker_processes_trains_exactly_as_tensors_in_memory(tmp_path, reference, workers):
    task = ReaderRegression()
    history = fit(task, ReadRows(), settings(workers=workers), tmp_path / "resume.pt", desc="run")
    assert_same(outcome(task, history), reference)
    assert (os.getpid() in task.readers) == (workers == 0)
    assert len(task.readers) == (workers * EPOCHS or 1)  # a fresh pair of readers every epoch


def test_autocast_is_a_no_op_on_cpu():
    layer = nn.Linear(8, 8)
    x = torch.randn(4, 8)
    with autocast(torch.device("cpu"), True):
        assert layer(x).dtype == torch.float32
        assert not torch.is_autocast_enabled("cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):  # what the no-op avoids
        assert layer(x).dtype == torch.bfloat16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bf16_step_on_cuda(tmp_path):
    from avsec.dsp.mfcc import MFCC

    seen, mfcc = [], MFCC(hop=512, win_length=512, n_fft=2048, n_mels=32, n_mfcc=32).cuda()  # paper 2's

    class Probe(Regression):
        def step(self, batch, epoch):
            seen.append((self.model(batch[0]).dtype, mfcc(torch.randn(2, 16384, device="cuda")).dtype))
            return super().step(batch, epoch)

    task = Probe()
    history = fit(task, data(), settings(device="cuda", bf16=True, epochs=1), tmp_path / "r.pt", desc="gpu")
    assert seen and all(pair == (torch.bfloat16, torch.float32) for pair in seen)  # MFCC stays float32
    assert next(task.model.parameters()).dtype == torch.float32 and math.isfinite(history[0]["loss"])


def test_same_checkpoint_gives_the_same_bytes_wherever_saved(tmp_path):
    """Artifacts are compared byte for byte (Snakemake vs DVC runs, dvc pull): the temporary name must not leak
    into the file."""
    payload = {"kind": "victim", "modules": {"model": {"w": torch.arange(6.0)}}}
    save_checkpoint(tmp_path / "a.pt", payload)
    save_checkpoint(tmp_path / "sub" / "b.pt", payload)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "sub" / "b.pt").read_bytes()


def test_flat_for_reads_the_last_epochs_against_the_one_before():
    history = [{"s": v} for v in (0.1, 0.5, 0.5, 0.505)]
    assert flat_for(history, "s", 2, 0.01)  # 0.5 and 0.505 stay within 0.01 of epoch 2's 0.5
    assert not flat_for(history, "s", 3, 0.01)  # epoch 1's 0.1 → 0.5: moved
    assert not flat_for(history, "s", 2, 0.001)
    assert not flat_for(history, "s", 4, 1.0)  # not yet 4 epochs after a first one
    assert not flat_for(history, "s", 0, 1.0)  # patience 0: never


class Scripted(Regression):
    """A task whose end-of-epoch ``score`` is given per epoch (paper 2's success rate stands in)."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def end_epoch(self, epoch):
        return {**super().end_epoch(epoch), "score": self.scores[epoch]}


def test_training_stops_when_the_monitored_value_stays_flat_and_a_rerun_stays_stopped(tmp_path):
    """Paper 2: "stop when the success rate has not changed for 5 epochs" (here 2): epochs 3 and 4 stay within
    0.01 of epoch 2, so epoch 5 never runs; a rerun from the resume file takes no step; patience 0 runs all."""
    scores = [0.1, 0.5, 0.5, 0.505, 0.9, 0.9, 0.9]
    stop = settings(epochs=7, patience=2, monitor="score", tolerance=0.01)
    task = Scripted(scores)
    history = fit(task, data(), stop, tmp_path / "r.resume", desc="flat")
    assert [h["score"] for h in history] == scores[:4]
    assert {epoch for epoch, _ in task.batches} == {0, 1, 2, 3}
    again = Scripted(scores)
    assert fit(again, data(), stop, tmp_path / "r.resume", desc="flat") == history and again.batches == []
    every = fit(Scripted(scores), data(), settings(epochs=7), tmp_path / "all.resume", desc="all")
    assert len(every) == 7
