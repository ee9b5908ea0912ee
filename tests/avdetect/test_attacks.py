"""Paper 4's attacks on both modalities: FGSM and BIM stay in their ε-ball and raise the loss, C&W moves towards
its target within its bound, the distortion in the paper's units, the settings from the script's flags, and a
missing checkpoint in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from avsec.avdetect.attack_jobs import AttackSettings
from avsec.avdetect.attacks import CWSettings, bim, bim_iterations, cw_ctc, distortion, fgsm
from avsec.avdetect.recogniser import AVRecogniser, encode_text
from avsec.core.config import parse_flags, settings
from avsec.core.errors import ConfigError

FRAMES = 9  # frames of the random batches


@pytest.fixture(scope="module")
def word_model():
    torch.manual_seed(0)
    return AVRecogniser(3, head="word", width=0.125, hidden=8).eval()


def batch(n=2, frames=FRAMES):
    torch.manual_seed(1)
    video = torch.rand(n, frames, 96, 96) * 200 + 20
    audio = torch.randn(n, frames * 640) * 3000
    return video, audio


def test_bim_iterations_follow_kurakin():
    assert [bim_iterations(e) for e in (4, 8, 16)] == [5, 10, 20]


def test_fgsm_moves_every_input_by_exactly_eps(word_model):
    video, audio = batch()
    labels = torch.tensor([0, 2])
    adv_v, adv_a = fgsm(word_model, video, audio, labels, eps_video=4, eps_audio=256)
    seen = (adv_v - video)[..., 4:92, 4:92]
    assert torch.allclose(seen.abs(), torch.full_like(seen, 4.0))
    assert torch.allclose((adv_a - audio).abs(), torch.full_like(audio, 256.0))
    assert torch.equal(adv_v[..., :4, :], video[..., :4, :])  # outside the 88×88 crop: no gradient, no change
    before = F.cross_entropy(word_model(video, audio), labels)
    assert F.cross_entropy(word_model(adv_v, adv_a), labels) > before


def test_bim_stays_in_the_eps_ball_and_valid_range(word_model):
    video, audio = batch()
    video[0, 0, 40:50, 40:50] = 254.5  # near the top of the pixel range
    labels = torch.tensor([1, 1])
    adv_v, adv_a = bim(word_model, video, audio, labels, eps_video=8, eps_audio=512)
    assert (adv_v - video).abs().max() <= 8 + 1e-4 and (adv_a - audio).abs().max() <= 512 + 1e-3
    assert adv_v.max() <= 255 and adv_v.min() >= 0
    fast_v, fast_a = fgsm(word_model, video, audio, labels, eps_video=1, eps_audio=64)
    loss = [F.cross_entropy(word_model(v, a), labels) for v, a in ((video, audio), (fast_v, fast_a), (adv_v, adv_a))]
    assert loss[0] < loss[1] < loss[2]  # ten steps of α beat one


def test_attacks_reject_eps_outside_the_valid_range(word_model):
    video, audio = batch()
    with pytest.raises(ConfigError, match="eps_video"):
        fgsm(word_model, video, audio, torch.tensor([0, 0]), eps_video=300, eps_audio=256)
    with pytest.raises(ConfigError, match="eps_audio"):
        bim(word_model, video, audio, torch.tensor([0, 0]), eps_video=4, eps_audio=0)


def test_cw_ctc_moves_towards_the_target_within_its_bound():
    torch.manual_seed(0)
    model = AVRecogniser(28, head="ctc", width=0.125, hidden=8).eval()
    video, audio = batch(n=2, frames=25)
    target = "bin blue at a zero please"

    def ctc(v, a):
        labels = torch.tensor(encode_text(target)).repeat(2, 1)
        lengths = torch.full((2,), labels.shape[1])
        return F.ctc_loss(model(v, a).transpose(0, 1), labels, torch.full((2,), 25), lengths, reduction="none")

    settings = CWSettings(iterations=12, lr_audio=40, lr_video=1)
    result = cw_ctc(model, video, audio, target, eps_video=4, eps_audio=512, settings=settings)
    assert (ctc(result.full_video, result.full_audio) < ctc(video, audio)).all()
    assert (result.full_video - video).abs().max() <= 4 + 1e-4
    assert (result.full_audio - audio).abs().max() <= 512 + 1e-3
    assert len(result.partial_wer) == 2 and all(w >= 0 for w in result.full_wer)


def test_distortion_in_the_papers_units():
    video = torch.full((1, 2, 10, 10), 100.0)
    audio = torch.zeros(1, 1280)
    audio[0, 5] = 10000
    adv_v = video.clone()
    adv_v[0, :, :, :] += 51  # 0.2 on the [0, 1] scale everywhere
    adv_a = audio + 1000
    d = distortion(video, adv_v, audio, adv_a)
    assert d["l2_video"][0] == pytest.approx(0.2 * 10)  # per 10×10 frame
    assert d["linf_video"][0] == pytest.approx(0.2) and d["linf_video_pixels"][0] == pytest.approx(51)
    assert d["linf_audio_db"][0] == pytest.approx(-20.0)  # 20·log10(1000) − 20·log10(10000)


def test_attack_settings_from_flags_keep_their_types():
    given = parse_flags(["--splits", "val", "test", "--eps_audio", "256", "1024", "--eps_video", "4", "--c", "1"])
    attack = settings(AttackSettings, given, "attack_av")
    assert attack.eps_video == 4 and attack.eps_audio == [256, 1024] and attack.c == 1 and attack.iterations == 800
    with pytest.raises(ConfigError, match="attack_av: unknown setting"):
        settings(AttackSettings, {**given, "eps": 4}, "attack_av")
    with pytest.raises(ConfigError, match="attack_av: missing setting.*eps_video"):
        settings(AttackSettings, {"eps_audio": 256}, "attack_av")


def test_attack_script_reports_a_missing_checkpoint_in_one_line(av, tmp_path):
    cmd = [
        sys.executable, "workflow/scripts/attack_av.py", "--method", "fgsm", "--setting", "fgsm_a256_v4", "--mouths",
        str(av / "mouths"), "--audio", str(av / "audio"), "--recogniser", str(tmp_path / "none.pt"), "--syncnet",
        str(tmp_path / "s.pt"), "--out", str(tmp_path / "a"), "--eps_audio", "256", "--eps_video", "4",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'none.pt'}: checkpoint not found"
