"""Paper 2's steps end to end on tiny in-test shards: a victim (avsec.advgan.victims), a generator
(avsec.advgan.train), its evaluation (avsec.advgan.evaluate), a baseline (avsec.advgan.baselines), the clips
(avsec.advgan.data), bad input; and the settings dataclasses the scripts build from their flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from avsec.advgan.baselines import BaselineAttack, attack_baseline, attack_figure7, baseline_attack
from avsec.advgan.data import clip_rows
from avsec.advgan.evaluate import GeneratorEvaluation, evaluate_generator
from avsec.advgan.names import parse_generator
from avsec.advgan.train import GeneratorTraining, check_generator, train_generator
from avsec.advgan.victims import VictimTraining, load_victim, train_victim, victim_training
from avsec.core.config import parse_flags, settings
from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import read_audio, write_audio
from avsec.metrics.audio import snr_db

LABELS = ["low", "mid", "high"]
SMALL = VictimTraining(labels=LABELS, rate=16000, epochs=2, batch=8, lr=0.003, arch={"depth": 10, "widen": 1})
GEN = GeneratorTraining(epochs=1, warmup=0, batch=4, width=0.125, discriminator_width=0.0625, checkpoint_every=0)


@pytest.fixture(scope="module")
def victim(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("victim")
    train_victim("wideresnet", data, out / "victim.pt", out / "victim.json", SMALL)
    return out


@pytest.mark.parametrize("generator, sources", [("all_to_low", {"mid", "high"}), ("high_to_low", {"high"})])
def test_per_source_results_are_the_sources_own_clips(data, victim, tmp_path, generator, sources):
    """A generator's sources are numbered among themselves (the target, or every other label, left out): each
    per-source entry must hold that source's 3 test clips, and the overall success is their clip-weighted mean."""
    gen = tmp_path / "generator.pt"
    train_generator(generator, victim / "victim.pt", data, gen, GEN)
    settings_ = GeneratorEvaluation(timing_clips=1, pesq_clips=1, examples=1)
    result = evaluate_generator(gen, victim / "victim.pt", data, tmp_path / "e.json", tmp_path / "x", settings_)
    assert set(result["per_source"]) == sources and result["clips"] == 3 * len(sources)
    assert all(v["clips"] == 3 for v in result["per_source"].values())
    weighted = sum(v["success"] * v["clips"] for v in result["per_source"].values()) / result["clips"]
    assert weighted == pytest.approx(result["success"])
    assert {e["source"] for e in result["examples"]} == sources


def test_evaluation_streams_the_same_numbers_at_any_batch(data, victim, tmp_path):
    """The test clips are read, generated and scored batch by batch: batches of 4 (the second one crossing from one
    source to the next, PESQ and examples on clips of both) must give the numbers and the example WAVs of one
    batch of all of them. (Within float rounding: a network's float results may depend on its batch's size.)"""
    gen = tmp_path / "generator.pt"
    train_generator("all_to_low", victim / "victim.pt", data, gen, GEN)
    runs = []
    for batch in (4, 64):
        step = GeneratorEvaluation(batch=batch, timing_clips=1, pesq_clips=2, examples=2)
        result = evaluate_generator(gen, victim / "victim.pt", data, tmp_path / "e.json", tmp_path / f"x{batch}", step)
        waves = {p.name: read_audio(p)[0] for p in sorted((tmp_path / f"x{batch}").iterdir())}
        runs.append((result, waves))
    (streamed, waves), (whole, whole_waves) = runs
    assert streamed["clips"] == whole["clips"] == 6 and streamed["examples"] == whole["examples"]
    assert [e["source"] for e in streamed["examples"]] == ["mid", "mid", "high", "high"]
    for key in ("success", "clean_rate", "snr_db", "pesq"):
        assert streamed[key] == pytest.approx(whole[key], rel=1e-6)
        for source, cell in whole["per_source"].items():
            assert streamed["per_source"][source][key] == pytest.approx(cell[key], rel=1e-6)
    assert np.isfinite(whole["pesq"]) and len(whole_waves) == 8 and waves.keys() == whole_waves.keys()
    for name, wave in waves.items():  # the same clips: int16 samples at most 1 apart (float rounding)
        assert np.abs(wave.astype(int) - whole_waves[name].astype(int)).max() <= 1, name


def test_victim_checkpoint_and_metrics(victim):
    result = json.loads((victim / "victim.json").read_text())
    assert result["labels"] == LABELS and result["test_clips"] == 9 and len(result["history"]) == 2
    assert 0 <= result["accuracy"] <= 1 and set(result["per_class"]) == set(LABELS)
    model, ckpt = load_victim(victim / "victim.pt")
    assert ckpt["arch"]["depth"] == 10 and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert not (victim / "victim.pt.resume").exists(), "the resume file outlived the finished run"


def test_generator_trains_and_evaluates(data, victim, tmp_path):
    gen = tmp_path / "all_to_high" / "generator.pt"
    history = train_generator("all_to_high", victim / "victim.pt", data, gen, GEN)
    assert len(history) == 1 and {"loss_d", "loss_g", "ce", "success"} <= set(history[0])
    result = evaluate_generator(
        gen,
        victim / "victim.pt",
        data,
        tmp_path / "eval.json",
        tmp_path / "examples",
        GeneratorEvaluation(timing_clips=2, examples=1),
    )
    assert set(result["per_source"]) == {"low", "mid"} and result["clips"] == 6
    assert all(v["clips"] == 3 for v in result["per_source"].values())
    assert result["seconds_per_clip_batched"] > 0 and result["seconds_per_clip_batch1"] > 0
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == [
        "low_0_adv.wav",
        "low_0_clean.wav",
        "mid_0_adv.wav",
        "mid_0_clean.wav",
    ]
    assert json.loads((tmp_path / "eval.json").read_text())["generator"] == "all_to_high"


def test_per_pair_generator_trains_on_its_source_only(data, victim, tmp_path):
    assert check_generator("low_to_high", LABELS, "v.pt") == ["low"]
    assert check_generator("all_to_high", LABELS, "v.pt") == ["low", "mid"]
    gen = tmp_path / "generator.pt"
    train_generator("low_to_high", victim / "victim.pt", data, gen, GEN)
    ckpt = torch.load(gen, weights_only=True)
    assert (ckpt["source"], ckpt["target"], ckpt["generator"]) == ("low", "high", "low_to_high")


def test_label_the_victim_lacks_is_one_line(data, victim, tmp_path):
    with pytest.raises(InputError, match=r"victim.pt: the victim has no label 'loud'.*low_to_loud"):
        train_generator("low_to_loud", victim / "victim.pt", data, tmp_path / "g.pt", GEN)
    with pytest.raises(ConfigError, match="is not <source>_to_<target>"):
        parse_generator("lowhigh")
    assert not (tmp_path / "g.pt").exists()


def test_bad_checkpoints_name_the_file(data, victim, tmp_path):
    corrupt = tmp_path / "generator.pt"
    corrupt.write_bytes((victim / "victim.pt").read_bytes()[:500])
    with pytest.raises(InputError, match=r"generator.pt: corrupt or unreadable checkpoint"):
        evaluate_generator(
            corrupt, victim / "victim.pt", data, tmp_path / "e.json", tmp_path / "ex", GeneratorEvaluation()
        )
    with pytest.raises(InputError, match=r"victim.pt: is a 'victim' checkpoint, expected 'generator'"):
        evaluate_generator(
            victim / "victim.pt",
            victim / "victim.pt",
            data,
            tmp_path / "e.json",
            tmp_path / "ex",
            GeneratorEvaluation(),
        )
    assert not (tmp_path / "e.json").exists() and not (tmp_path / "ex").exists()


def test_baseline_writes_its_results(data, victim, tmp_path):
    step = BaselineAttack(clips=2, examples=1, device="cpu", attack={"iterations": 3})
    out, examples = tmp_path / "genetic.json", tmp_path / "genetic_examples"
    result = attack_baseline("genetic", victim / "victim.pt", data, out, step, examples)
    assert result["victim"] == "wideresnet" and len(result["clips"]) == 2
    assert all(c["source"] != c["target"] for c in result["clips"])
    assert json.loads(out.read_text())["method"] == "genetic"
    # the first clip's WAV pair, to listen to: the attack's own adversarial clip, within its ±256 box
    row, (entry,) = result["clips"][0], result["examples"]
    stem = f"genetic_examples/0_{row['source']}_to_{row['target']}"
    assert (entry["clean"], entry["adversarial"]) == (f"{stem}_clean.wav", f"{stem}_adv.wav")
    assert sorted(p.name for p in examples.iterdir()) == sorted(Path(entry[k]).name for k in ("clean", "adversarial"))
    (clean, rate), (adversarial, _) = read_audio(tmp_path / entry["clean"]), read_audio(tmp_path / entry["adversarial"])
    assert rate == 16000 and clean.shape == adversarial.shape == (16384,)
    delta = np.abs(adversarial.astype(np.int32) - clean)
    assert 0 < delta.max() <= 257
    assert snr_db(clean, adversarial) == pytest.approx(row["snr_db"], abs=0.05)
    assert json.loads(out.read_text())["examples"] == result["examples"]


def test_figure7_attack_is_on_figure7s_clip(data, victim, tmp_path, monkeypatch):
    """Rule attack_figure7: the clip names.figure7_clip picks from the generators (all_to_low: its first source,
    "mid", example 0), towards low; the WAV is that clip attacked, and the record's SNR is the files'."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "results/advgan/wideresnet"
    folder.mkdir(parents=True)
    for name in ("victim.pt", "victim.json"):
        shutil.copyfile(victim / name, folder / name)
    clip = clip_rows(data, "test", ["mid"])[0:1][0].numpy()
    write_audio(folder / "all_to_low/examples/mid_0_clean.wav", clip, 16000)
    out, wav = Path("results/advgan/figure7/genetic.json"), Path("results/advgan/figure7/genetic.wav")
    step = baseline_attack({"clips": 1, "seed": 3, "device": "cpu", "iterations": 3, "population": 6})
    result = attack_figure7({"wideresnet": ["all_to_low"]}, out, wav, step)
    assert json.loads(out.read_text()) == result
    assert (result["victim"], result["generator"], result["source"], result["target"]) == (
        "wideresnet", "all_to_low", "mid", "low"
    )  # fmt: skip
    assert result["clean"] == "results/advgan/wideresnet/all_to_low/examples/mid_0_clean.wav"
    assert result["adversarial"] == "genetic.wav" and result["settings"]["population"] == 6
    assert result["queries"] == 6 * result["iterations"] and result["iterations"] <= 3
    assert result["predicted"] in LABELS and (result["predicted"] == "low") == result["success"]
    adversarial, rate = read_audio(wav)
    assert rate == 16000 and adversarial.shape == clip.shape
    assert 0 < np.abs(adversarial.astype(np.int32) - clip).max() <= 257
    assert snr_db(clip, adversarial) == pytest.approx(result["snr_db"], abs=1e-3)


def test_missing_labels_in_the_data_are_one_line(data):
    with pytest.raises(InputError, match="no train rows with labels loud"):
        clip_rows(data, "train", ["loud"])


# ---- the settings dataclasses, from the flags the rules pass -----------------------------------------------------
WIDERESNET_FLAGS = (
    "--seed 1024 --corpus speech_commands --rate 16000 --dropout 0.3 --lr 0.001 --weight_decay 0.0005 --frame 512"
    " --n_fft 2048 --n_filters 32 --n_cepstra 32 --preemphasis 0.97 --lifter 22 --labels yes no --depth 10 --widen 2"
    " --epochs 12 --batch 32"
)


def test_victim_flags_split_into_the_training_and_the_network_in_their_order():
    training = victim_training("wideresnet", parse_flags(WIDERESNET_FLAGS.split()))
    assert (training.labels, training.rate, training.lr, training.weight_decay) == (["yes", "no"], 16000, 0.001, 5e-4)
    assert (training.seed, training.corpus, training.epochs, training.batch) == (1024, "speech_commands", 12, 32)
    assert list(training.arch.items()) == [  # the checkpoint's "arch" (after "rate"), as the command line orders it
        ("dropout", 0.3),
        ("frame", 512),
        ("n_fft", 2048),
        ("n_filters", 32),
        ("n_cepstra", 32),
        ("preemphasis", 0.97),
        ("lifter", 22),
        ("depth", 10),
        ("widen", 2),
    ]
    samplecnn = victim_training(
        "samplecnn",
        parse_flags("--rate 16384 --labels a b --width 0.25 --epochs 6 --batch 32 --lr 0.001 --dropout 0.5".split()),
    )
    assert samplecnn.arch == {"width": 0.25, "dropout": 0.5} and samplecnn.rate == 16384
    with pytest.raises(ConfigError, match=r"^train_victim: unknown setting\(s\) width \(known: .*wideresnet: depth"):
        victim_training("wideresnet", parse_flags([*WIDERESNET_FLAGS.split(), "--width", "0.5"]))
    with pytest.raises(ConfigError, match=r"^train_victim: missing setting\(s\) epochs$"):
        victim_training("samplecnn", parse_flags("--rate 16384 --labels a b --batch 32 --lr 0.001".split()))
    with pytest.raises(ConfigError, match="unknown victim 'vgg'"):
        victim_training("vgg", {})


def test_generator_and_evaluation_flags_keep_their_types():
    given = parse_flags("--loss code --alpha 1 --gamma 100 --betas 0.5 0.999 --epochs 8 --width 0.25".split())
    training = settings(GeneratorTraining, given, "train_generator")
    assert (training.alpha, training.gamma, training.betas, training.width) == (1, 100, [0.5, 0.999], 0.25)
    assert type(training.alpha) is int and training.beta == 1.0 and training.warmup == 3
    with pytest.raises(ConfigError, match=r"^evaluate_generator: unknown setting\(s\) clips"):
        settings(GeneratorEvaluation, {"clips": 3}, "evaluate_generator")


def test_baseline_flags_other_than_its_fields_go_to_the_attack():
    given = parse_flags("--seed 7 --population 20 --elites 2 --clips 2 --iterations 40".split())
    assert baseline_attack(given) == BaselineAttack(
        clips=2, seed=7, attack={"population": 20, "elites": 2, "iterations": 40}
    )
    with pytest.raises(ConfigError, match=r"^attack_baseline: missing setting\(s\) clips$"):
        baseline_attack({"iterations": 3})
