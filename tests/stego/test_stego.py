"""Paper 1's library end to end on tiny in-test shards: training through the shared trainer (and its resume),
evaluation, the security experiment, the report, and the one-line errors for bad input."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import INT16_SCALE, write_audio
from avsec.io.shards import shard_writer
from avsec.stego import core as stego
from avsec.stego.names import check_stego, parse_run
from avsec.train import Interrupted, load_checkpoint

STFT = dict(n_fft=510, hop=128, win_length=510)
LENGTH = 2048
TRAIN = dict(lambdas=[0.6, 0.8, 1.0], epochs=2, batch=4, width=0.125, lr=0.003, checkpoint_every=0, **STFT)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Voiced-like clips (harmonic tones under an envelope, plus noise): 16 train and 6 test rows."""
    root = tmp_path_factory.mktemp("stego") / "prep"
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH) / 16000
    with shard_writer(root) as writer:
        for split, n in (("train", 16), ("test", 6)):
            for i in range(n):
                f0 = rng.uniform(100, 300)
                x = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
                x = 0.2 * x * np.hanning(LENGTH) + 0.01 * rng.standard_normal(LENGTH)
                writer.add((x * 32767).astype(np.int16), split=split, label=f"S{i}", source=f"{split}/{i}.wav")
    return root


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.pt"
    history = stego.train_stego("hpf_an", data, out, **TRAIN, normalise=True)
    return out, history


def test_training_writes_a_checkpoint_through_the_shared_trainer(data, model):
    path, history = model
    assert len(history) == 2 and {"loss_s", "loss_e", "loss_d", "carrier_snr", "secret_snr"} <= set(history[0])
    ckpt = load_checkpoint(path, "stego")
    assert (ckpt["run"], ckpt["analyzer"], ckpt["channel"]) == ("hpf_an", "hpf", "an")
    assert set(ckpt["modules"]) == {"encoder", "decoder", "steganalyzer"}
    assert not path.with_name("model.pt.resume").exists()
    rms = float((stego.load_audio(data, "train").float() / INT16_SCALE).square().mean().sqrt())
    assert float(ckpt["modules"]["decoder"]["gain"]) == pytest.approx(1 / rms, rel=1e-5)
    encoder, decoder, spec, _ = stego.load_stego(path)
    assert not encoder.training and spec.n_fft == 510 and spec.hop == 128


def test_evaluation_reports_both_tables_and_writes_examples(data, model, tmp_path):
    result = stego.evaluate_stego(model[0], data, tmp_path / "eval.json", tmp_path / "examples", examples=1)
    assert result["clips"] == 6 and result["samples"] == LENGTH
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


def test_the_decoder_learns_to_reveal_the_secret(data, tmp_path):
    """More steps on the tiny set: the decoder's loss falls and the revealed secret beats chance. (Two torch threads,
    whatever the machine: float sums, and so this short run's result, depend on the thread count.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    out = tmp_path / "model.pt"
    try:
        history = stego.train_stego("ran_nor", data, out, **{**TRAIN, "epochs": 12, "width": 0.25})
    finally:
        torch.set_num_threads(threads)
    assert history[-1]["loss_d"] < history[0]["loss_d"]
    result = stego.evaluate_stego(out, data, tmp_path / "eval.json", tmp_path / "examples", examples=0)
    assert result["clean"]["secret_snr_db"] > result["chance_secret_snr_db"] + 1.0


def test_distances_and_the_adversarial_warm_up(data, tmp_path):
    """nmse is the squared error over the clip's energy (plus a floor: 1 / 1.1 when revealing silence, whatever the
    level), nmse2 its square; with adversary_after = 1 the first epoch's encoder loss has no steganalyzer term and
    the second has it."""
    x = torch.randn(3, 100) * torch.tensor([[1.0], [0.01], [100.0]])
    power = float(x[0].square().mean())
    loud = float(stego.distance(torch.zeros_like(x[2:]), x[2:], "nmse", power))
    assert loud == pytest.approx(1.0, rel=1e-4) and float(stego.distance(0.5 * x[2:], x[2:], "nmse2", power)) == (
        pytest.approx(0.0625, rel=1e-4)
    )
    assert float(stego.distance(torch.zeros_like(x[:1]), x[:1], "nmse", power)) == pytest.approx(1 / 1.1, rel=0.05)
    assert float(stego.distance(torch.zeros_like(x[1:2]), x[1:2], "nmse", power)) < 0.01  # a near-silent clip
    assert float(stego.distance(torch.zeros_like(x), x, "euclidean")) == pytest.approx(float(x.norm(dim=1).mean()))
    settings = {**TRAIN, "distance": "nmse2", "adversary_after": 1}
    first, second = stego.train_stego("ran_nor", data, tmp_path / "model.pt", **settings)
    la, lb, lc = TRAIN["lambdas"]
    assert second["fool"] > 0
    assert first["loss_e"] == pytest.approx(la * first["loss_c"] + lc * first["loss_d"], rel=1e-5)
    with_adversary = la * second["loss_c"] + lb * second["fool"] + lc * second["loss_d"]
    assert second["loss_e"] == pytest.approx(with_adversary, rel=1e-5)
    with pytest.raises(ConfigError, match="distance must be one of euclidean, mse, nmse, nmse2"):
        stego.train_stego("ran_nor", data, tmp_path / "bad.pt", **{**settings, "distance": "l1"})


def test_a_signalled_run_resumes_to_the_uninterrupted_result(data, tmp_path, monkeypatch):
    reference = tmp_path / "reference.pt"
    stego.train_stego("ran_nor", data, reference, **TRAIN)
    step, calls = stego.StegoTask.step, []

    def interrupt_once(self, batch, epoch):
        calls.append(epoch)
        if len(calls) == 5:
            signal.raise_signal(signal.SIGUSR1)
        return step(self, batch, epoch)

    out = tmp_path / "model.pt"
    monkeypatch.setattr(stego.StegoTask, "step", interrupt_once)
    with pytest.raises(Interrupted):
        stego.train_stego("ran_nor", data, out, **TRAIN)
    assert out.with_name("model.pt.resume").exists() and not out.exists()
    monkeypatch.setattr(stego.StegoTask, "step", step)
    stego.train_stego("ran_nor", data, out, **TRAIN)
    a, b = load_checkpoint(reference, "stego"), load_checkpoint(out, "stego")
    for net in ("encoder", "decoder", "steganalyzer"):
        for key, value in a["modules"][net].items():
            assert torch.equal(value, b["modules"][net][key]), (net, key)


def test_security_experiment_for_a_baseline_and_for_the_gan(data, model, tmp_path):
    common = dict(clips=6, epochs=1, batch=4, width=0.125, estimators=5, **STFT)
    lsb = stego.steganalysis("lsb_matching", data, tmp_path / "lsb.json", bits_per_sample=1.0, **common)
    assert lsb["carriers"] == 6 and lsb["train_clips"] == 6 and lsb["val_clips"] == 6
    assert 0 <= lsb["rich_model_accuracy"] <= 1 and 0 <= lsb["cnn_accuracy"] <= 1
    assert lsb["stego_snr_db"] > 40  # ±1 changes are far below the signal
    gan = stego.steganalysis("gan", data, tmp_path / "gan.json", model=model[0], **common)
    assert gan["run"] == "hpf_an" and gan["payload_bits_per_sample"] == 16
    assert json.loads((tmp_path / "gan.json").read_text())["method"] == "gan"
    with pytest.raises(ConfigError, match="--model"):
        stego.steganalysis("gan", data, tmp_path / "x.json", **common)
    with pytest.raises(ConfigError, match="unknown setting"):
        stego.steganalysis("echo_hiding", data, tmp_path / "x.json", segment=512, delay=3, **common)


def test_spectrogram_round_trip_and_noise_level():
    spec = stego.spectrogram(**STFT)
    x = torch.randn(2, LENGTH) * 0.1
    channels = spec(x)
    assert channels.shape == (2, 2, 256, LENGTH // 128 + 1)
    assert torch.allclose(spec.inverse(channels, LENGTH), x, atol=1e-5)
    noisy = stego.add_noise(x, 60.0, torch.Generator().manual_seed(0))
    snr = 10 * torch.log10(x.square().sum(1) / (noisy - x).square().sum(1))
    assert torch.allclose(snr, torch.full((2,), 60.0), atol=0.5)
    with pytest.raises(ConfigError, match="complex"):
        stego.spectrogram(kind="magnitude", **STFT)


def test_secrets_are_never_their_own_carrier():
    for n in (2, 3, 10):
        partner = stego.derangement(n, np.random.default_rng(n))
        assert sorted(partner) == list(range(n)) and all(partner != np.arange(n))


def test_carrier_and_secret_of_different_length_or_rate_are_one_line(model, tmp_path):
    tone = (np.sin(np.arange(LENGTH) / 5) * 8000).astype(np.int16)
    write_audio(tmp_path / "carrier.wav", tone, 16000)
    write_audio(tmp_path / "short.wav", tone[:1000], 16000)
    write_audio(tmp_path / "fast.wav", tone, 22050)
    with pytest.raises(InputError, match=r"short\.wav: 1000 samples, the carrier .* has 2048$"):
        stego.hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "short.wav", tmp_path / "out.wav")
    with pytest.raises(InputError, match=r"fast\.wav: sample rate 22050 Hz differs"):
        stego.hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "fast.wav", tmp_path / "out.wav")
    stego.hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "carrier.wav", tmp_path / "stego.wav")
    stego.reveal_file(model[0], tmp_path / "stego.wav", tmp_path / "revealed.wav")
    assert (tmp_path / "revealed.wav").stat().st_size > 2 * LENGTH


def test_a_corrupt_checkpoint_is_one_line_naming_it(data, model, tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(model[0].read_bytes()[:2000])
    with pytest.raises(InputError, match=r"model\.pt: corrupt or unreadable checkpoint") as info:
        stego.evaluate_stego(bad, data, tmp_path / "eval.json", tmp_path / "examples")
    assert "\n" not in str(info.value) and not (tmp_path / "eval.json").exists()


def test_run_names_and_config_checks():
    assert parse_run("hpf_an") == ("hpf", "an")
    for bad in ("hpf", "srm_nor", "ran_noise"):
        with pytest.raises(ConfigError, match="<analyzer>_<channel>"):
            parse_run(bad)
    config = {
        "features": {"stego_timit": {}},
        "stego": {"datasets": {"timit": {}}, "security": {"run": "hpf_nor"}},
        "scale": {"name": "smoke", "stego": {"runs": {"timit": ["ran_nor"]}, "epochs": {"timit": 1}}},
    }
    with pytest.raises(ConfigError, match="stego.security.run: 'hpf_nor' is not trained for timit"):
        check_stego(config)
    config["stego"]["security"]["run"] = "ran_nor"
    check_stego(config)
