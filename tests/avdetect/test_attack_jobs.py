"""Paper 4's attacks as cluster jobs: a C&W job signalled mid-run (SIGUSR1, as SLURM sends before the time limit)
saves its progress, exits 75 and, rerun, ends with what an uninterrupted job writes; the gather joins the jobs in
the grid's order and names what is missing; a setting outside the grid is one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from avsec.avdetect.attack_jobs import AttackSettings, attack_setting
from avsec.avdetect.gather import RESULT, gather_attacks
from avsec.avdetect.recogniser import train_recogniser
from avsec.core.errors import ConfigError, InputError

SENTENCES = ["bin blue at a zero please", "set white in p five now"]


@pytest.fixture(scope="module")
def ctc(av, tiny, tmp_path_factory):
    """A GRID-style (CTC head) recogniser trained one epoch on the tiny shards."""
    out = tmp_path_factory.mktemp("ctc")
    train_recogniser("grid", av / "mouths", av / "audio", out / "r.pt", out / "r.json",
                     tiny.recogniser(head="ctc", epochs=1))  # fmt: skip
    return out / "r.pt"


def cw_job(av, ctc, trained, out, *extra: str) -> list[str]:
    return [
        sys.executable, "workflow/scripts/attack_av.py", "--method", "cw", "--setting", "cw_a512_v4_bbaazp",
        "--mouths", str(av / "mouths"), "--audio", str(av / "audio"), "--recogniser", str(ctc), "--syncnet",
        str(trained[0] / "syncnet.pt"), "--out", str(out), "--threads", "1", "--eps_audio", "512", "--eps_video", "4",
        "--sentences", *SENTENCES, "--targets", "bbaazp", "swipfn", "--iterations", "60", "--check_every", "5",
        "--batch", "1", "--examples", "2", "--save_every", "0", *extra,
    ]  # fmt: skip


def without_timing(folder) -> dict:
    result = json.loads((folder / RESULT).read_text())
    assert result.pop("attack_seconds") > 0
    return result


def test_a_signalled_cw_job_resumes_and_ends_as_an_uninterrupted_one(av, ctc, trained, tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(cw_job(av, ctc, trained, reference), check=True, capture_output=True)
    out = tmp_path / "job"
    resume = tmp_path / "job.resume"
    job = subprocess.Popen(cw_job(av, ctc, trained, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not resume.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the first batch is done
    job.send_signal(signal.SIGUSR1)
    log = job.communicate(timeout=120)[0]
    assert job.returncode == 75, log[-2000:]
    assert resume.exists() and not out.exists()
    assert "stopped by signal" in log and "rerun to resume" in log
    rerun = subprocess.run(cw_job(av, ctc, trained, out), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "resuming from" in rerun.stderr and not resume.exists()
    assert without_timing(out) == without_timing(reference)
    videos = sorted(p.name for p in reference.glob("*.mp4"))
    assert videos == ["cw_a512_v4_bbaazp_0.mp4", "cw_a512_v4_bbaazp_1.mp4"]
    for name in videos:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def test_a_resume_file_of_other_settings_is_set_aside(av, ctc, trained, tmp_path):
    out = tmp_path / "job"
    (tmp_path / "job.resume").write_bytes(b"not a checkpoint")
    run = subprocess.run(cw_job(av, ctc, trained, out, "--clips", "1"), capture_output=True, text=True)
    assert run.returncode == 0 and "starting over" in run.stderr, run.stderr[-2000:]
    assert (out / RESULT).is_file() and not (tmp_path / "job.resume").exists()


def test_gather_joins_the_grid_in_order_leaves_out_stale_settings_and_names_missing_ones(av, trained, tmp_path):
    s = AttackSettings(eps_audio=[256, 1024], eps_video=[4], examples=1, clips=2)
    models = (trained[0] / "recogniser.pt", trained[0] / "syncnet.pt")
    folder = tmp_path / "settings"
    for name in ("benign", "fgsm_a256_v4"):
        attack_setting("fgsm", name, av / "mouths", av / "audio", *models, folder / name, s)
    with pytest.raises(InputError, match="no result.json for fgsm_a1024_v4: run their attack_av jobs first"):
        gather_attacks("fgsm", folder, tmp_path / "attack.json", tmp_path / "examples", s.grid("fgsm"))
    attack_setting("fgsm", "fgsm_a1024_v4", av / "mouths", av / "audio", *models, folder / "fgsm_a1024_v4", s)
    (folder / "fgsm_a512_v4").mkdir()  # from an earlier, larger grid
    cmd = [sys.executable, "workflow/scripts/gather_attack_av.py", "--method", "fgsm", "--settings", str(folder),
           "--out", str(tmp_path / "attack.json"), "--examples-dir", str(tmp_path / "examples"), "--eps_audio", "256",
           "1024", "--eps_video", "4", "--examples", "1"]  # fmt: skip
    gathered = subprocess.run(cmd, capture_output=True, text=True)
    assert gathered.returncode == 0, gathered.stderr[-2000:]
    assert "left out (not in the grid): fgsm_a512_v4" in gathered.stderr
    light = "import sys, avsec.avdetect.gather, avsec.avdetect.names, avsec.core.cli; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", light], capture_output=True, text=True).stdout.strip() == "False"
    result = json.loads((tmp_path / "attack.json").read_text())
    assert [e["name"] for e in result["settings"]] == ["fgsm_a1024_v4", "fgsm_a256_v4"]
    assert len(result["benign"]["test"]["sources"]) == 2
    assert len(result["settings"][1]["splits"]["test"]["predicted"]) == 2
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == ["fgsm_a1024_v4_0.mp4", "fgsm_a256_v4_0.mp4"]


def test_a_setting_outside_the_grid_is_one_line(av, trained, tmp_path):
    s = AttackSettings(eps_audio=[256], eps_video=[4])
    with pytest.raises(ConfigError, match=r"'fgsm_a512_v4' is not a setting of fgsm's grid \(fgsm_a256_v4\)"):
        attack_setting("fgsm", "fgsm_a512_v4", av / "mouths", av / "audio", trained[0] / "recogniser.pt",
                       trained[0] / "syncnet.pt", tmp_path / "x", s)  # fmt: skip
