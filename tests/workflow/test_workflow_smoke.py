"""The README's first command, for real: the whole smoke DAG through Snakemake, then through `dvc repro` in a
second copy, with byte-identical artifacts; the synthetic corpora's defects end up in the rejects files."""

from __future__ import annotations

import csv
import hashlib
import html as htmllib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from avsec.io.shards import ShardedArray, read_tsv
from avsec.metrics.image import image_ssim
from avsec.report.folder import FOLDERS
from conftest import VENV_ENV, copy_workflow, tool

pytestmark = pytest.mark.slow


TIMED = (  # tables of measured times
    "results/advgan/report/tables/table1.html",
    "results/advgan/report/report.md",
    "results/stego/report/tables/runs.html",
    "results/stego/report/report.md",
)


def digests(root) -> dict[str, str]:
    """sha256 of every artifact under results/ except logs and benchmarks (they hold times) and Snakemake's
    directory markers (.dvcignore leaves them out of DVC's hashes too). JSON metrics are compared without their
    measured times; the report pages that print times only by name."""
    out = {}
    for path in sorted((root / "results").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if (
            path.is_file()
            and not rel.startswith(("results/logs/", "results/benchmarks/"))
            and path.name not in (".gitignore", ".snakemake_timestamp")
        ):
            data = b"" if rel in TIMED else path.read_bytes()
            if path.suffix == ".json":
                data = json.dumps(untimed(json.loads(data)), sort_keys=True).encode()
            out[rel] = hashlib.sha256(data).hexdigest()
    return out


def report_files(report) -> set[str]:
    """The files of a paper's report folder, relative to it (tables/…, figures/…, audio/…, video/…)."""
    return {p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file()}


def untimed(value):
    """A JSON value without its wall-clock measurements (keys naming seconds)."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=VENV_ENV)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def snakemake_run(tmp_path_factory):
    """The smoke DAG run through Snakemake. For developers: AVSEC_SMOKE_RUN=<a finished run's directory> starts from
    a copy of its results/ and runs only what is missing (and the rules in AVSEC_SMOKE_FORCERUN, with what follows
    them), so that a new check runs in minutes; CI always runs the whole DAG."""
    workdir = copy_workflow(tmp_path_factory.mktemp("snakemake") / "wf")
    command = [tool("snakemake"), "--cores", "2", "all"]
    reuse = os.environ.get("AVSEC_SMOKE_RUN")
    if reuse:
        shutil.copytree(Path(reuse) / "results", workdir / "results", symlinks=True)
        command += ["--rerun-triggers", "mtime", "--forcerun", *os.environ.get("AVSEC_SMOKE_FORCERUN", "").split()]
    run(command, workdir)
    return workdir


def test_snakemake_all_prepares_every_corpus(snakemake_run):
    for corpus in ("timit", "librispeech", "gtzan", "speech_commands", "voc"):
        data = ShardedArray(snakemake_run / "results/prep" / corpus)
        assert len(data) > 0, corpus
        assert set(m["split"] for m in data.manifest) >= {"train", "test"} or corpus == "voc"
    for feature in ("stego_timit", "stego_librispeech"):
        rows = ShardedArray(snakemake_run / "results/features" / feature)
        assert rows[0].shape == (2, 256, 256) and rows[0].dtype.name == "float16"
        assert {int(m["length"]) for m in rows.manifest} == {32640}, "features must locate their source samples"
    for corpus in ("grid", "lrw"):
        assert any((snakemake_run / "results/synth" / corpus).rglob("*.mp*")), corpus
    assert "Nothing to be done" in run([tool("snakemake"), "-n", "all"], snakemake_run)


def test_synthetic_defects_are_recorded_as_rejects(snakemake_run):
    def rejects(corpus):
        return {r["source"]: r["reason"] for r in read_tsv(snakemake_run / "results/prep" / corpus / "rejects.tsv")}

    assert any("jazz.00054" in source for source in rejects("gtzan"))
    assert any("32640" in reason for reason in rejects("timit").values())
    assert any("32640" in reason for reason in rejects("librispeech").values())
    assert rejects("voc"), "the truncated JPEG is not in voc's rejects"
    # Speech Commands clips shorter than 1 s are padded, not dropped: every row is 16384 samples
    manifest = read_tsv(snakemake_run / "results/prep/speech_commands/manifest.tsv")
    assert manifest and {int(m["length"]) for m in manifest} == {16384}


def test_audiovisual_preparation(snakemake_run):
    """Paper 4's data: mouth crops, transforms and audio features line up; planted defects are rejects."""
    import numpy as np

    for corpus, frames in (("grid", 75), ("lrw", 29)):
        av = snakemake_run / "results/av" / corpus
        mouths, mfcc = ShardedArray(av / "mouths"), ShardedArray(av / "audio/mfcc")
        assert len(mouths) > 0 and mouths[0].shape == (frames, 96, 96) and mouths[0].dtype == np.uint8
        assert np.load(av / "mouths/transforms.npy").shape == (len(mouths), frames, 2, 3)
        assert mfcc[0].shape == (13, 4 * frames)
        assert [m["source"] for m in mouths.manifest] == [m["source"] for m in mfcc.manifest]
        reasons = " | ".join(r["reason"] for r in read_tsv(av / "landmarks/rejects.tsv"))
        assert "no face in" in reasons, reasons
    lrw = " | ".join(r["reason"] for r in read_tsv(snakemake_run / "results/av/lrw/landmarks/rejects.tsv"))
    grid = " | ".join(r["reason"] for r in read_tsv(snakemake_run / "results/av/grid/landmarks/rejects.tsv"))
    assert "no audio track" in lrw and "unreadable video" in lrw
    assert "no alignment file" in grid
    grid_splits = {m["split"] for m in ShardedArray(snakemake_run / "results/av/grid/mouths").manifest}
    assert grid_splits == {"train", "val", "test"}


def test_paper2_victims_learn_and_generators_attack(snakemake_run):
    """On the synthetic corpora the victims beat chance clearly and every generator fools its victim at times."""
    advgan = snakemake_run / "results/advgan"
    for victim in ("wideresnet", "samplecnn"):
        result = json.loads((advgan / victim / "victim.json").read_text())
        assert result["accuracy"] > 3 / len(result["labels"]), (victim, result["accuracy"])
    evaluations = [json.loads(p.read_text()) for p in sorted(advgan.glob("*/*_to_*/eval.json"))]
    assert len(evaluations) == 4
    for result in evaluations:  # the attack raises the target's share above what the clean clips get
        assert result["success"] > result["clean_rate"] and result["snr_db"] > 10, result
        assert all(source != result["target"] for source in result["per_source"])
        if result["victim"] == "wideresnet":
            assert result["success"] >= 0.3, result
    report = advgan / "report"
    assert {
        "tables/table1.html",
        "tables/table2.html",
        "tables/success_samplecnn.tsv",
        "figures/figure7.png",
        "figures/success_wideresnet.png",
        "audio/figure7_original.wav",
        "audio/figure7_adversarial.wav",
        "audio/figure7_genetic.wav",
    } <= report_files(report)
    assert "92.33%" in (report / "tables/table1.html").read_text()


def test_paper2_loss_ablation_runs_in_all(snakemake_run):
    """Section D (Figures 8-9) is part of `all`: three "yes" → "right" generators, each with a history row (success
    and generator loss) every iteration, the figures and the table in the report; each variant was trained with
    its weights, and adding the hinge term to the L2 term shrinks the perturbation (smoke run: mean |δ| 0.0061
    with both, 0.0071 with L2 alone; SNR 15.9 and 14.5 dB)."""
    config = yaml.safe_load((snakemake_run / "config.yaml").read_text())
    ablation, epochs = config["advgan"]["ablation"], config["scales"]["smoke"]["advgan"]["ablation"]["epochs"]
    assert list(ablation["variants"]) == ["hinge", "l2", "both"] and ablation["generator"] == "yes_to_right"
    for variant in ablation["variants"]:
        with open(snakemake_run / f"results/advgan/wideresnet/ablation/{variant}/generator_history.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert [int(r["step"]) for r in rows] == list(range(1, epochs + 1)), variant  # 1 step an epoch, each logged
        assert all(math.isfinite(float(r["success"])) and math.isfinite(float(r["loss_g"])) for r in rows), variant
    result = json.loads((snakemake_run / "results/advgan/ablation/ablation.json").read_text())
    variants = result["variants"]
    assert {name: (v["beta"], v["gamma"]) for name, v in variants.items()} == {
        name: (w["beta"], w["gamma"]) for name, w in ablation["variants"].items()
    }
    assert all(v["iterations"] == epochs and v["test_clips"] >= 1 for v in variants.values())
    assert variants["both"]["mean_abs_delta"] < variants["l2"]["mean_abs_delta"], variants
    assert variants["both"]["snr_db"] > variants["l2"]["snr_db"], variants
    report = snakemake_run / "results/advgan/report"
    assert {"figures/figure8.png", "figures/figure9.png", "tables/ablation.tsv", "tables/ablation.html"} <= (
        report_files(report)
    )
    page = (report / "report.md").read_text()
    assert "## Section D: loss ablation (Figures 8–9)" in page and "](figures/figure9.png)" in page


def test_paper2_figure7_genetic_row_attacks_the_figures_clip(snakemake_run):
    """Figure 7's bottom row: the report's GA WAV is the genetic attack on the report's original clip (the clip
    names.figure7_clip picks: the smoke lists have no "go" target, so wideresnet all_to_yes, its first example),
    the SNR of the two files is the record's; the baselines keep their first clips' WAV pairs."""
    from avsec.io.audio import read_audio
    from avsec.metrics.audio import snr_db

    advgan = snakemake_run / "results/advgan"
    record = json.loads((advgan / "figure7/genetic.json").read_text())
    assert (record["victim"], record["generator"], record["source"], record["target"]) == (
        "wideresnet", "all_to_yes", "no", "yes"
    )  # fmt: skip
    assert record["clean"] == "results/advgan/wideresnet/all_to_yes/examples/no_0_clean.wav"
    report = advgan / "report/audio"
    original, rate = read_audio(report / "figure7_original.wav")
    genetic, genetic_rate = read_audio(report / "figure7_genetic.wav")
    assert (report / "figure7_original.wav").read_bytes() == (snakemake_run / record["clean"]).read_bytes()
    assert (report / "figure7_genetic.wav").read_bytes() == (advgan / "figure7/genetic.wav").read_bytes()
    assert genetic_rate == rate == record["rate"] and genetic.shape == original.shape == (16384,)
    assert snr_db(original, genetic) == pytest.approx(record["snr_db"], abs=1e-3)
    delta = np.abs(genetic.astype(np.int32) - original)
    assert 0 < delta.max() <= 257  # within the GA's ±256/32768 box (int16 rounding)
    assert record["queries"] == 20 * record["iterations"] and record["iterations"] <= 40  # population 20, budget 40
    page = (advgan / "report/report.md").read_text()
    assert "(audio/figure7_genetic.wav)" in page and ("success" if record["success"] else "failure") in page
    for victim in ("wideresnet", "samplecnn"):
        for method in ("genetic", "pso"):
            result = json.loads((advgan / victim / "baselines" / f"{method}.json").read_text())
            assert len(result["examples"]) == 2  # scales.smoke.advgan.baselines.examples
            for entry in result["examples"]:
                clean, _ = read_audio(advgan / victim / "baselines" / entry["clean"])
                adversarial, _ = read_audio(advgan / victim / "baselines" / entry["adversarial"])
                assert clean.shape == adversarial.shape and np.any(clean != adversarial)


def test_rerun_of_one_generator_plans_one_training_job(snakemake_run):
    """The README's command: the generator's training and evaluation, nothing upstream or beside it."""
    target = "results/advgan/wideresnet/all_to_yes"
    dry = run([tool("snakemake"), "-n", f"{target}/eval.json", "--forcerun", "train_generator"], snakemake_run)
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry[dry.index("Job stats:") :], re.M))
    assert jobs == {"train_generator": "1", "evaluate_generator": "1", "total": "2"}, dry[-1500:]
    dry = run([tool("snakemake"), "-n", "all", "--forcerun", f"{target}/generator.pt"], snakemake_run)
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry[dry.index("Job stats:") :], re.M))
    # and Figure 7's genetic attack: its clip is all_to_yes's first example at the smoke scale (names.figure7_clip)
    assert jobs == {
        "train_generator": "1", "evaluate_generator": "1", "attack_figure7": "1", "report_advgan": "1", "all": "1",
        "total": "5",
    }  # fmt: skip


def test_rerun_of_one_cw_target_plans_its_job_its_gather_and_what_reads_it(snakemake_run):
    """Paper 4's attacks run one job per setting: one C&W target reruns alone, then the gather, the detection and
    the report."""
    job = "results/avdetect/grid/attacks/cw/settings/cw_a512_v4_bwbonn"
    dry = run([tool("snakemake"), "-n", "all", "--forcerun", job], snakemake_run)
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry[dry.index("Job stats:") :], re.M))
    assert jobs == {
        "attack_av": "1", "gather_attack_av": "1", "detect_av": "1", "report_avdetect": "1", "all": "1", "total": "5"
    }, dry[-1500:]  # fmt: skip


# A cross-section of the DAG through `dvc repro`: corpus synthesis, preparation, an STFT feature set, paper 4's
# partitioned audiovisual preparation with ffmpeg and its gather, and paper 2's training, training on a trained
# network and evaluation with PESQ. tests/workflow/test_dag_mirror.py holds every stage's command to its Snakemake
# job's; running the whole DAG a second time, one stage at a time, took 28 min of CI for no other path.
DVC_TARGETS = (
    "extract_stft@stego_librispeech",
    "gather_av_grid",
    "evaluate_generator_samplecnn@all_to_jazz",
)


def test_dvc_repro_gives_the_same_files(snakemake_run, tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    run([tool("dvc"), "repro", "--quiet", *DVC_TARGETS], workdir)
    ours, theirs = digests(snakemake_run), digests(workdir)
    assert len(theirs) > 50 and set(theirs) <= set(ours), sorted(set(theirs) - set(ours))[:5]
    for prefix in ("results/synth/", "results/prep/", "results/features/", "results/av/grid/", "results/advgan/"):
        assert any(path.startswith(prefix) for path in theirs), prefix
    differ = [path for path in theirs if ours[path] != theirs[path]]
    assert not differ, f"{len(differ)} files differ, e.g. {differ[:5]}"

    # rerunning one generator (README) runs it, its evaluation, Figure 7's genetic attack (DVC cannot tell which
    # generator's clip that is: it depends on both victims' folders) and the report, nothing else
    dry = run([tool("dvc"), "repro", "--dry", "-f", "--downstream", "train_generator_wideresnet@all_to_yes"], workdir)
    assert sorted(re.findall(r"Running stage '([^']+)'", dry)) == [
        "attack_figure7",
        "evaluate_generator_wideresnet@all_to_yes",
        "report_advgan",
        "train_generator_wideresnet@all_to_yes",
    ]

    # changing one key makes exactly the stage that reads it out of date (of the stages run)
    config = workdir / "config.yaml"
    config.write_text(config.read_text().replace("gtzan: {tracks_per_genre: 3}", "gtzan: {tracks_per_genre: 2}", 1))
    recorded = sorted(yaml.safe_load((workdir / "dvc.lock").read_text())["stages"])
    status = run([tool("dvc"), "status", "--json", *recorded], workdir)
    assert sorted(json.loads(status[status.index("{") :])) == ["synth_corpus@gtzan"]


SECURITY_METHODS = ("gan", "lsb_matching", "echo_hiding")


def test_paper1_trains_every_triple_and_reports_tables_2_to_4(snakemake_run):
    """Every configured triple is trained and evaluated, with and without channel noise, and reveals its own secret
    clearly better than chance: above revealing silence (0 dB) and far above another pair's secret; Table 4 has our
    method and both classic baselines for each dataset, beside the paper's rows; Figure 3 is drawn. (At smoke scale
    the networks mix carrier and secret rather than hide it: README, paper 1.)"""
    root = snakemake_run / "results/stego"
    evaluations = [json.loads(p.read_text()) for p in sorted(root.glob("*/*_*/eval.json"))]
    assert {(e["dataset"], e["run"]) for e in evaluations} == {
        ("timit", "ran_nor"),
        ("timit", "ran_an"),
        ("librispeech", "ran_nor"),
    }
    for e in evaluations:
        assert e["samples"] == 1024 and e["noisy"]["noise_db"] == 60, e
        for table in ("clean", "noisy"):
            assert all(math.isfinite(e[table][key]) for key in ("carrier_mse", "secret_mse", "carrier_snr_db")), e
        assert math.isfinite(e["clean"]["secret_snr_db"]) and math.isfinite(e["chance_secret_snr_db"]), e
        # 2026-11-25: secret 2.9-4.1 dB, chance -3.0 to -4.4 dB, carrier 1.7-3.0 dB (README, paper 1)
        for table in ("clean", "noisy"):
            assert e[table]["secret_snr_db"] > 2.0, (table, e[table])
        assert e["clean"]["secret_snr_db"] > e["chance_secret_snr_db"] + 4.0, e
        assert e["clean"]["carrier_snr_db"] > 1.0, e["clean"]  # the carrier is kept, not swapped for the secret
        assert len(list((root / e["dataset"] / e["run"] / "examples").glob("*.wav"))) == 8
    for dataset in ("timit", "librispeech"):
        results = {m: json.loads((root / dataset / "security" / f"{m}.json").read_text()) for m in SECURITY_METHODS}
        for result in results.values():  # the carriers and their stego clips, split in two halves by carrier
            assert result["train_clips"] + result["val_clips"] == 2 * result["carriers"], result
            for key in ("rich_model_accuracy", "cnn_accuracy"):  # a share of the validation clips
                hits = result[key] * result["val_clips"]
                assert hits == pytest.approx(round(hits)), (key, result)
        # ±1 LSB changes sit far below the signal, an echo at 0.5 amplitude does not
        assert results["lsb_matching"]["stego_snr_db"] > 40 > results["echo_hiding"]["stego_snr_db"], results
    report = root / "report"
    # the counts the report states are the prepared manifests' and each job's own, beside the paper's
    smoke = yaml.safe_load((snakemake_run / "config.yaml").read_text())["scales"]["smoke"]["stego"]
    page = (report / "report.md").read_text()
    names = {"timit": "TIMIT", "librispeech": "LibriSpeech"}
    for dataset, name in names.items():
        splits = [m["split"] for m in read_tsv(snakemake_run / f"results/prep/{dataset}/manifest.tsv")]
        train, test, where = splits.count("train"), splits.count("test"), f"results/prep/{dataset}/manifest.tsv"
        assert f"| {name} | prepared segments | {len(splits)} | 10000 | {where} |" in page
        assert f"| {name} | train split | {train} | 7500 | {where} |" in page
        assert f"| {name} | test split (the paper's validation set) | {test} | 2500 | {where} |" in page
        assert f"| {name} | rows overlapping another of their utterance | 0 | – | {where} |" in page  # hop = segment
        for e in (e for e in evaluations if e["dataset"] == dataset):
            assert e["train_clips"] == min(smoke["train"]["clips"], train), e  # the first clips of the train split
            assert e["clips"] == min(smoke["evaluate"]["clips"], test), e
            assert f"| {name} | training clips, run {e['run']} | {e['train_clips']} | 7500 |" in page
            assert f"| {name} | evaluation clips, run {e['run']} | {e['clips']} | 2500 |" in page
        gan = json.loads((root / dataset / "security/gan.json").read_text())
        assert f"| {name} | stego clips, GAN steganography (ours) | {gan['carriers']} | 5000 |" in page
    tables = {f"tables/{name}.html" for name in ("data", "table2", "table3", "table4", "runs")}
    clips = {f"audio/{d}_ran_nor_{row}.wav" for d in ("timit", "librispeech") for row in ("carrier", "revealed")}
    assert {"report.md", "figures/figure3.png", "figures/table4.png", *tables, *clips} <= report_files(report)
    table4 = (report / "tables/table4.html").read_text()
    assert "6.85" in (report / "tables/table2.html").read_text() and "0.9156" in table4
    assert "LSB matching (ours)" in table4


def test_rerun_of_one_stego_run_plans_its_training_evaluation_and_report(snakemake_run):
    target = "results/stego/timit/ran_an"
    dry = run([tool("snakemake"), "-n", "all", "--forcerun", f"{target}/model.pt"], snakemake_run)
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry[dry.index("Job stats:") :], re.M))
    assert jobs == {"train_stego": "1", "evaluate_stego": "1", "report_stego": "1", "all": "1", "total": "4"}


def test_paper3_revealed_images_are_recognisable_and_the_table_has_the_papers_numbers(snakemake_run):
    """Every column of paper 3's table is evaluated on the bundled images; the revealed images are the originals
    (SSIM far above that of a different image), the carrier stays correlated with the original, and the report
    carries the paper's numbers beside ours, with the figures and WAV examples."""
    root = snakemake_run / "results/imgstego"
    results = {c: json.loads((root / c / "eval.json").read_text()) for c in ("base", "ssim", "enhanced")}
    for column, result in results.items():
        assert result["images"] == 4 and result["image_ssim"] > 0.5 and result["image_mae"] < 30, (column, result)
        assert result["carrier_pearson"] > 0.95 and result["audio_snr_db"] > 10, (column, result)
    assert results["enhanced"]["image_ssim"] > results["ssim"]["image_ssim"]  # the enhancer helps
    original = np.load(root / "ssim/examples/original.npy")
    revealed = np.load(root / "ssim/examples/revealed.npy")
    own = image_ssim(np.moveaxis(revealed[0], 0, -1), np.moveaxis(original[0], 0, -1))
    other = image_ssim(np.moveaxis(revealed[0], 0, -1), np.moveaxis(original[1], 0, -1))
    assert own > other + 0.25, (own, other)
    report = root / "report"
    figures = {f"figures/{name}.png" for name in ("images", "spectrograms", "training")}
    assert {"report.md", "tables/results.tsv", "tables/results.html", *figures} <= report_files(report)
    text = (report / "report.md").read_text()
    assert "13.3901" in text and "0.9246" in text and "0.9486" in text
    assert "<td>0.9486</td>" in (report / "tables/results.html").read_text()
    assert sorted(p.name for p in (report / "audio").iterdir()) == [
        "carrier_0.wav", "carrier_1.wav", "embedded_0.wav", "embedded_1.wav"
    ]  # fmt: skip


def test_paper4_sync_confidence_separates_and_attacks_lower_accuracy(snakemake_run):
    """SyncNet finds the true offset and tells in-sync from mismatched audio on the synthetic faces; the LRW word
    recogniser is well above chance (25 %) on its held-out clips and every FGSM/BIM setting takes most of that
    away; the louder FGSM is the better detected; the report has Tables 1-4 with the paper's numbers, the figures
    (Figure 2 from BIM examples within their bounds, pasted back where the face's mouth is), videos."""
    root = snakemake_run / "results/avdetect"
    for corpus in ("grid", "lrw"):
        sync = json.loads((root / corpus / "syncnet.json").read_text())
        assert sync["offset_within_1"] >= 0.75 and sync["sync_auc"] > 0.9, (corpus, sync)
    recogniser = json.loads((root / "lrw/recogniser.json").read_text())
    assert recogniser["clips"]["test"] >= 12 and recogniser["accuracy"] >= 0.75, recogniser["test"]
    lrw = json.loads((root / "lrw/detection.json").read_text())
    assert lrw["benign"]["accuracy"] == recogniser["accuracy"]
    assert {row["method"] for row in lrw["settings"]} == {"fgsm", "bim"}
    for row in lrw["settings"]:  # benign ≥ 75 % (9 of 12 clips or more); attacked: 50 points lower at least
        assert row["accuracy"] <= lrw["benign"]["accuracy"] - 0.5, row["name"]
    assert all(row["accuracy"] <= 0.25 for row in lrw["settings"] if row["method"] == "bim")
    fgsm = {(r["eps_audio"], r["eps_video"]): r for r in lrw["settings"] if r["method"] == "fgsm"}
    assert fgsm[(1024, 16)]["linf_audio_db"] > fgsm[(256, 16)]["linf_audio_db"] + 11  # 20·log10(4) = 12 dB
    assert fgsm[(1024, 16)]["auc"] > 0.9 and fgsm[(1024, 16)]["auc"] > fgsm[(256, 16)]["auc"]  # the paper's trend
    grid = json.loads((root / "grid/detection.json").read_text())
    assert {row["goal"] for row in grid["settings"]} == {"partial", "full"}
    assert all(row["linf_video_pixels"] <= row["eps_video"] + 1e-3 for row in grid["settings"])
    report = root / "report"
    text = (report / "report.md").read_text()
    for heading in ("## Table 1", "## Table 2", "## Table 3", "## Table 4"):
        assert heading in text
    assert "(97.20%)" in text and "(0.99)" in text  # the paper's LRW accuracy and FGSM AUC beside ours
    figures = {p.name for p in (report / "figures").iterdir()}
    assert {"figure1d_grid_confidence.png", "figure2.png", "roc_lrw.png", "roc_grid.png"} <= figures
    assert "![Figure 2](figures/figure2.png)" in text
    # Figure 2's examples (rule figure2_av): one LRW test clip under BIM at each eps_V x eps_A of config.yaml, every
    # perturbation nonzero and within its bound (video in pixels, audio in int16 units), in the crops and in the
    # face frames the perturbed mouth was pasted back into (only there)
    wanted = yaml.safe_load((snakemake_run / "config.yaml").read_text())["avdetect"]["figure2"]
    with np.load(root / "lrw/figure2/examples.npz") as npz:
        ex = {key: npz[key] for key in npz.files}
    pairs = list(zip(ex["eps_video"].tolist(), ex["eps_audio"].tolist(), strict=True))
    assert sorted(pairs) == sorted(itertools.product(wanted["eps_video"], wanted["eps_audio"])), pairs
    assert len(pairs) == 4  # the paper's eps_V in {4, 8} x eps_A in {256, 512}
    crops, audio, faces = ex["benign_crops"].astype(float), ex["benign_audio"].astype(float), ex["benign_faces"]
    source = json.loads((root / "lrw/figure2/examples.json").read_text())["source"]
    landmarks = ShardedArray(snakemake_run / "results/av/lrw/landmarks")
    points = landmarks[landmarks.manifest.column("source").tolist().index(source)]  # (frames, 68, 2), full frame
    for i, (eps_v, eps_a) in enumerate(pairs):
        dv = np.abs(ex["adversarial_crops"][i] - crops).max()
        da = np.abs(ex["adversarial_audio"][i] - audio).max()
        df = np.abs(ex["adversarial_faces"][i].astype(int) - faces.astype(int))
        assert 0 < dv <= eps_v + 1e-3 and 0 < da <= eps_a + 1e-2 and 0 < df.max() <= eps_v, (eps_v, eps_a, dv, da)
        for k, frame in enumerate(ex["shown"]):  # the change is the mouth's: centred on its landmarks (48-67)
            ys, xs = np.nonzero(df[k].max(axis=-1))
            mouth = np.nanmean(points[frame, 48:68], axis=0)
            assert len(xs) < 0.5 * df[k].shape[0] * df[k].shape[1], (eps_v, eps_a, frame)  # not the whole frame
            assert np.hypot(xs.mean() - mouth[0], ys.mean() - mouth[1]) < 0.1 * np.sqrt(len(xs)), (eps_v, frame)
    assert sorted(p.suffix for p in (report / "video").iterdir()) == [".mp4"] * 8  # one per smoke setting
    pages = {f"tables/{name}.html" for name in ("networks", "table1", "table2", "table3", "table4")}
    assert pages <= report_files(report)


# Clicks through the report as a reader would (each paper's category, each subcategory, the first table or figure)
# and writes what it found into the page, for --dump-dom.
REPORT_READER = """<script>
(async function () {
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const links = () => [...document.querySelectorAll("nav a")];
  const click = async (text) => {
    const link = links().find((a) => a.textContent.trim() === text);
    if (!link) throw new Error("no link " + JSON.stringify(text));
    link.click();
    await wait(500);
  };
  const home = async () => { document.querySelector("nav ol a").click(); await wait(500); };
  const found = {};
  try {
    await wait(1000);
    const items = [...document.querySelectorAll("nav li")].map((li) => li.textContent.trim());
    for (const category of items.slice(items.indexOf("Results") + 1)) {
      await click(category);
      const subcategories = links().map((a) => a.textContent.trim()).filter((t) => t && t !== category);
      found[category] = {};
      for (const subcategory of subcategories.filter((t) => t !== "Results")) {
        await home();
        await click(category);
        await click(subcategory);
        const rows = [...document.querySelectorAll("tr")].filter((tr) => tr.textContent.trim().startsWith("results/"));
        const files = rows.map((tr) => tr.textContent.trim());
        const download = rows.length ? rows[0].querySelector("a[download]") : null;
        const viewable = rows.find((tr) => /[.](html|png)$/.test(tr.textContent.trim()));
        let shown = null;
        if (viewable) {
          viewable.querySelector("a[href='#']").click();
          await wait(500);
          const content = document.querySelector("iframe, img[src^='data:image/png']");
          shown = content ? content.getAttribute("src").split(";")[0] : null;
        }
        const offered = download && download.getAttribute("href").split(";")[0];
        found[category][subcategory] = {files, shown, download: offered};
      }
      await home();
    }
  } catch (error) {
    found.error = String(error);
  }
  const out = document.createElement("pre");
  out.id = "avsec-found";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
})();
</script>"""


def test_the_html_report_lists_every_papers_results_in_a_browser(snakemake_run, tmp_path):
    """`snakemake --report` on the finished run, opened in headless Chromium and clicked through: each paper is a
    category whose Tables, Figures, Audio examples / Videos list the files of its report folder; a table opens as a
    page, a figure as an image, a WAV or MP4 is offered for download."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium (Debian package; bash setup.sh --test installs it)")
    page = tmp_path / "report.html"
    run([tool("snakemake"), "--report", str(page)], snakemake_run)
    html = page.read_text(encoding="utf-8")
    cut = html.rindex("</body>")
    (tmp_path / "read.html").write_text(html[:cut] + REPORT_READER + html[cut:], encoding="utf-8")
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=60000", "--dump-dom",
         str(tmp_path / "read.html")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(htmllib.unescape(re.search(r'<pre id="avsec-found">(.*?)</pre>', done.stdout, re.S)[1]))
    papers = {"stego": "Paper 1", "advgan": "Paper 2", "imgstego": "Paper 3", "avdetect": "Paper 4"}
    assert "error" not in found and [c.split(":")[0] for c in found] == list(papers.values()), found
    for paper, (category, listed) in zip(papers, found.items(), strict=True):
        on_disk: dict[str, list[str]] = {}  # subcategory -> the files of its folder, as the report names them
        for file in sorted(report_files(snakemake_run / "results" / paper / "report")):
            if "/" in file:
                on_disk.setdefault(FOLDERS[file.split("/")[0]], []).append(f"results/{paper}/report/{file}")
        assert {sub: sorted(v["files"]) for sub, v in listed.items()} == on_disk, category
        assert listed["Tables"]["shown"] == "data:text/html" and listed["Figures"]["shown"] == "data:image/png"
        media = listed["Videos"] if paper == "avdetect" else listed["Audio examples"]
        assert media["download"] == ("data:video/mp4" if paper == "avdetect" else "data:audio/x-wav"), media


HISTORY_AXES = {  # the x and y dvc.yaml gives each training job's history plot
    "victim": ("epoch", "val_acc"),
    "generator": ("step", "success"),
    "stego": ("epoch", "secret_snr"),
    "imgstego": ("step", "image_mae"),
    "enhancer": ("step", "mae"),
    "recogniser": ("epoch", "val_accuracy"),  # LRW's words; GRID's sentences: val_wer
    "syncnet": ("epoch", "val_pair_auc"),
}


def test_dvc_plots_show_draws_every_history_roc_curve_and_success_matrix(snakemake_run, tmp_path):
    """`dvc plots show` (README, "Plots") on the smoke run: every history CSV a training job wrote is a declared
    plot, drawn from the CSV's rows (a row per epoch, or more often); the ROC curves of every detected setting run
    from (0, 0) to (1, 1); the success matrices hold exactly the cells of the trained generators."""
    done = subprocess.run(
        [tool("dvc"), "plots", "show", "--json"],
        cwd=snakemake_run,
        capture_output=True,
        text=True,
        env=VENV_ENV,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)
    assert not shown.get("errors"), shown["errors"]
    plots = {name: entries[0]["content"] for name, entries in shown["data"].items()}
    root = snakemake_run / "results"
    histories = sorted(p.relative_to(snakemake_run).as_posix() for p in root.rglob("*_history.csv"))
    # victims, generators, the loss ablation's generators, stego runs (TIMIT ran_nor, ran_an; LibriSpeech ran_nor),
    # imgstego, enhancer, AV
    assert len(histories) == 2 + 4 + 3 + 3 + 2 + 1 + 2 + 2
    rocs = [f"results/avdetect/{corpus}/roc.csv" for corpus in ("grid", "lrw")]
    matrices = {victim: f"results/advgan/report/tables/success_{victim}.tsv" for victim in ("wideresnet", "samplecnn")}
    assert sorted(plots) == sorted([*histories, *rocs, *matrices.values()])
    # the page a user opens: one Vega-Lite chart per plot
    run([tool("dvc"), "plots", "show", "-o", str(tmp_path / "plots")], snakemake_run)
    page = (tmp_path / "plots" / "index.html").read_text()
    for name in plots:
        assert "vegaEmbed('#" + re.sub(r"[/.]", "_", name) + "'" in page, name

    for path in histories:
        stem = path.rsplit("/", 1)[1].removesuffix("_history.csv")  # the checkpoint's: model for papers 1 and 3
        kind = path.split("/")[1] if stem == "model" else stem
        x, y = ("epoch", "val_wer") if path == "results/avdetect/grid/recogniser_history.csv" else HISTORY_AXES[kind]
        with open(snakemake_run / path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        values = plots[path]["data"]["values"]
        assert rows and [(v[x], v[y]) for v in values] == [(r[x], r[y]) for r in rows], path
        steps = [int(r["step"]) for r in rows]
        assert steps == sorted(set(steps)) and int(rows[-1]["epoch"]) == len({r["epoch"] for r in rows}), path
        assert all(math.isfinite(float(r[y])) for r in rows if r[y] != ""), path

    for corpus, path in zip(("grid", "lrw"), rocs, strict=True):
        detection = json.loads((root / "avdetect" / corpus / "detection.json").read_text())
        names = {f"{r['name']}/{r['goal']}" if r.get("goal") else r["name"] for r in detection["settings"]}
        curves: dict[str, list] = {}
        for value in plots[path]["data"]["values"]:
            curves.setdefault(value["setting"], []).append(
                (int(value["point"]), float(value["fpr"]), float(value["tpr"]))
            )
        assert set(curves) == names
        for curve in curves.values():
            points = [(fpr, tpr) for _, fpr, tpr in sorted(curve)]
            assert points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0)
            assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(points))

    for victim, name in matrices.items():
        cells = {
            (v["source"], v["field"]): float(v["dvc_inferred_y_value"])
            for v in plots[name]["data"]["values"]
            if v["dvc_inferred_y_value"] != ""
        }
        evaluations = [json.loads(p.read_text()) for p in sorted((root / "advgan" / victim).glob("*_to_*/eval.json"))]
        expected = {(s, e["target"]): m["success"] for e in evaluations for s, m in e["per_source"].items()}
        assert cells.keys() == expected.keys()
        assert all(cells[cell] == pytest.approx(rate, abs=5e-5) for cell, rate in expected.items())


# ---- `avsec` on the smoke models (README, "Using trained models") ---------------------------------------------------
def avsec(*args, cwd):
    """``avsec ARGS`` as a user runs it from the workflow's folder: (exit status, stdout, stderr)."""
    done = subprocess.run([tool("avsec"), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=VENV_ENV)
    return done.returncode, done.stdout, done.stderr


def printed(stdout: str, key: str) -> str:
    """The value after ``key:`` on its line of ``stdout``."""
    match = re.search(rf"^{re.escape(key)}: (.+)$", stdout, re.M)
    assert match, f"no {key!r} line in:\n{stdout}"
    return match[1]


def one_error_line(done, path) -> str:
    """A bad file: exit status 1 and one line ``error: <path>: <problem>`` (the last on stderr)."""
    rc, stdout, stderr = done
    last = stderr.strip().splitlines()[-1]
    assert rc == 1 and last.startswith(f"error: {path}: ") and "Traceback" not in stderr, (rc, stderr[-2000:])
    return last


def test_avsec_attack_prints_the_victims_labels_and_the_snr_of_what_it_writes(snakemake_run, tmp_path):
    import torch

    from avsec.advgan.victims import load_victim, predict
    from avsec.io.audio import read_audio, write_audio
    from avsec.metrics.audio import snr_db

    wf, gen = snakemake_run, "results/advgan/wideresnet/all_to_no/generator.pt"
    clips = ShardedArray(wf / "results/prep/speech_commands")
    row = next(r for r in clips.rows("test") if clips.manifest[r]["label"] == "yes")
    write_audio(tmp_path / "yes.wav", clips[row], 16000)
    rc, stdout, stderr = avsec("attack", gen, tmp_path / "yes.wav", tmp_path / "adv.wav", cwd=wf)
    assert rc == 0, stderr
    victim, ckpt = load_victim(wf / "results/advgan/wideresnet/victim.pt")
    clean, (adversarial, rate) = clips[row], read_audio(tmp_path / "adv.wav")
    assert rate == 16000 and adversarial.shape == clean.shape and (adversarial != clean).any()
    label = lambda x: ckpt["labels"][int(predict(victim, torch.from_numpy(x.copy())[None], 1)[0])]  # noqa: E731
    assert printed(stdout, "before") == label(clean)
    assert printed(stdout, "after") == f"{label(adversarial)} (target: no)"
    snr = float(printed(stdout, "SNR").removesuffix(" dB"))
    assert math.isfinite(snr) and abs(snr - snr_db(clean, adversarial)) < 0.006, (snr, snr_db(clean, adversarial))

    # a 0.5 s clip is padded to the victims' 16384 samples, with a note
    write_audio(tmp_path / "short.wav", clean[:8000], 16000)
    rc, _, stderr = avsec("attack", gen, tmp_path / "short.wav", tmp_path / "short_adv.wav", cwd=wf)
    assert rc == 0 and "8000 samples, zero-padded at the end to 16384" in stderr
    assert len(read_audio(tmp_path / "short_adv.wav")[0]) == 16384
    # bad files: a GTZAN clip (16384 Hz), an unreadable one, a stego model, a victim of the other generators
    gtzan = ShardedArray(wf / "results/prep/gtzan")
    write_audio(tmp_path / "music.wav", gtzan[0], 16384)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt nothing else")
    line = one_error_line(
        avsec("attack", gen, tmp_path / "music.wav", tmp_path / "x.wav", cwd=wf), tmp_path / "music.wav"
    )
    assert line.endswith("sample rate 16384 Hz, expected 16000 Hz")
    one_error_line(avsec("attack", gen, tmp_path / "broken.wav", tmp_path / "x.wav", cwd=wf), tmp_path / "broken.wav")
    stego = "results/stego/timit/ran_nor/model.pt"
    line = one_error_line(avsec("attack", stego, tmp_path / "yes.wav", tmp_path / "x.wav", cwd=wf), stego)
    assert line.endswith("is a 'stego' checkpoint, expected 'generator'")
    other = "results/advgan/samplecnn/victim.pt"
    done = avsec("attack", gen, tmp_path / "yes.wav", tmp_path / "x.wav", "--victim", other, cwd=wf)
    assert "was trained against wideresnet" in one_error_line(done, gen)
    assert not (tmp_path / "x.wav").exists()


def test_avsec_hide_and_reveal_round_trip_a_secret_longer_than_one_segment(snakemake_run, tmp_path):
    from avsec.io.audio import read_audio, write_audio
    from avsec.metrics.audio import snr_db

    wf, model = snakemake_run, "results/stego/timit/ran_nor/model.pt"
    timit = ShardedArray(wf / "results/prep/timit")
    carrier, secret, unrelated = (timit[r] for r in timit.rows("test")[:3])  # 32640 samples: 32 smoke segments
    for name, x in (("carrier", carrier), ("secret", secret)):
        write_audio(tmp_path / f"{name}.wav", x, 16000)
    rc, stdout, stderr = avsec(
        "hide", model, tmp_path / "carrier.wav", tmp_path / "secret.wav", tmp_path / "stego.wav", cwd=wf
    )
    assert rc == 0 and "32 segments of 1024 samples" in stdout, stderr
    stego, rate = read_audio(tmp_path / "stego.wav")
    assert rate == 16000 and len(stego) == len(carrier)
    assert abs(float(printed(stdout, "SNR against the carrier").removesuffix(" dB")) - snr_db(carrier, stego)) < 0.006
    rc, stdout, stderr = avsec("reveal", model, tmp_path / "stego.wav", tmp_path / "revealed.wav", cwd=wf)
    assert rc == 0, stderr
    revealed = read_audio(tmp_path / "revealed.wav")[0].astype(np.float64)
    own, other = snr_db(secret.astype(np.float64), revealed), snr_db(unrelated.astype(np.float64), revealed)
    assert len(revealed) == len(secret) and own > other + 3, (own, other)  # 2026-12-06: 4.5 dB against -1.4 dB

    write_audio(tmp_path / "fast.wav", secret, 22050)
    write_audio(tmp_path / "long.wav", np.concatenate([secret, secret[:100]]), 16000)
    hide = lambda secret: avsec("hide", model, tmp_path / "carrier.wav", secret, tmp_path / "x.wav", cwd=wf)  # noqa: E731
    assert one_error_line(hide(tmp_path / "fast.wav"), tmp_path / "fast.wav").endswith("expected 16000 Hz")
    assert "longer than the carrier" in one_error_line(hide(tmp_path / "long.wav"), tmp_path / "long.wav")
    generator = "results/advgan/wideresnet/all_to_no/generator.pt"
    line = one_error_line(avsec("reveal", generator, tmp_path / "stego.wav", tmp_path / "x.wav", cwd=wf), generator)
    assert line.endswith("is a 'generator' checkpoint, expected 'stego'")
    assert not (tmp_path / "x.wav").exists()


def test_avsec_hide_image_and_reveal_image_recover_the_image(snakemake_run, tmp_path):
    from PIL import Image

    from avsec.io.audio import read_audio, write_audio

    wf, model = snakemake_run, "results/imgstego/ssim/model.pt"
    timit, voc = ShardedArray(wf / "results/prep/timit"), ShardedArray(wf / "results/prep/voc")
    carrier = np.concatenate([timit[r] for r in timit.rows("test")[:2]])  # 65280 samples: 3 windows and a tail
    write_audio(tmp_path / "carrier.wav", carrier, 16000)
    images = [voc[r] for r in voc.rows("val")[:2]]
    Image.fromarray(images[0]).save(tmp_path / "image.png")
    rc, stdout, stderr = avsec("hide-image", model, tmp_path / "carrier.wav", tmp_path / "image.png",
                               tmp_path / "stego.wav", cwd=wf)  # fmt: skip
    assert rc == 0, stderr
    hidden = stdout
    stego = read_audio(tmp_path / "stego.wav")[0]
    assert len(stego) == len(carrier) and (stego[48000:] == carrier[48000:]).all() and (stego != carrier).any()
    rc, stdout, stderr = avsec("reveal-image", model, tmp_path / "stego.wav", tmp_path / "revealed.png", cwd=wf)
    assert rc == 0 and "513×512 image" in stdout, stderr
    revealed = np.asarray(Image.open(tmp_path / "revealed.png"))
    own, other = (image_ssim(revealed, image) for image in images)
    assert own > other + 0.1, (own, other)
    assert abs(own - float(printed(hidden, f"revealed again from {tmp_path / 'stego.wav'}").split()[-1])) < 1e-3

    short = tmp_path / "short.wav"
    write_audio(short, carrier[:40000], 16000)
    line = one_error_line(avsec("hide-image", model, short, tmp_path / "image.png", tmp_path / "x.wav", cwd=wf), short)
    assert line.endswith("40000 samples; an RGB image needs 48000 (3 × 16000 at 16000 Hz)")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    done = avsec("hide-image", model, tmp_path / "carrier.wav", tmp_path / "broken.png", tmp_path / "x.wav", cwd=wf)
    assert "undecodable image" in one_error_line(done, tmp_path / "broken.png")
    enhancer = "results/imgstego/enhancer.pt"
    line = one_error_line(avsec("reveal-image", enhancer, tmp_path / "stego.wav", tmp_path / "x.png", cwd=wf), enhancer)
    assert line.endswith("is a 'imgstego_enhancer' checkpoint, expected 'imgstego'")
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "x.png").exists()


def test_avsec_sync_and_detect_score_a_clip_as_the_workflow_does(snakemake_run, tmp_path):
    wf = snakemake_run
    benign = json.loads((wf / "results/avdetect/lrw/attacks/fgsm/attack.json").read_text())["benign"]["test"]
    clip = wf / "results/synth/lrw" / benign["sources"][0]
    rc, stdout, stderr = avsec("sync", clip, cwd=wf)
    assert rc == 0, stderr
    offset, confidence = int(printed(stdout, "offset").split()[0]), float(printed(stdout, "confidence"))
    vshift = yaml.safe_load((wf / "config.yaml").read_text())["avdetect"]["syncnet"]["vshift"]
    assert abs(offset) <= vshift and offset == benign["offset"][0]
    assert abs(confidence - benign["confidence"][0]) < 1e-3, (confidence, benign["confidence"][0])

    detection = json.loads((wf / "results/avdetect/lrw/detection.json").read_text())["settings"]
    best = max(detection, key=lambda row: row["val_f1"])  # the default setting
    rc, stdout, stderr = avsec("detect", clip, cwd=wf)
    assert rc == 0, stderr
    threshold = float(printed(stdout, "threshold").split()[0])
    assert (
        printed(stdout, "threshold").endswith(f"(setting {best['name']})") and abs(threshold - best["threshold"]) < 1e-4
    )
    verdict = "adversarial" if float(printed(stdout, "confidence")) <= best["threshold"] else "benign"
    assert printed(stdout, "verdict") == verdict
    # an adversarial example (mouth crops with the attack's audio): its recorded confidence, give or take the codec
    example = wf / "results/avdetect/lrw/attacks/fgsm/examples/fgsm_a1024_v16_0.mp4"
    row = next(r for r in detection if r["name"] == "fgsm_a1024_v16")
    rc, stdout, stderr = avsec("detect", example, "--crops", "--setting", row["name"], cwd=wf)
    assert rc == 0, stderr
    confidence = float(printed(stdout, "confidence"))
    assert abs(confidence - row["adversarial_confidence"][0]) < 0.05, (confidence, row["adversarial_confidence"][0])
    assert printed(stdout, "verdict") == ("adversarial" if confidence <= row["threshold"] else "benign")

    # bad files: a GRID clip (75 frames) taken as LRW, an unreadable video, a recogniser given as the SyncNet
    grid = next((wf / "results/synth/grid").rglob("*.mpg"))
    assert "75 frames, expected 29" in one_error_line(avsec("sync", grid, cwd=wf), grid)
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    one_error_line(avsec("detect", tmp_path / "broken.mp4", cwd=wf), tmp_path / "broken.mp4")
    recogniser = "results/avdetect/lrw/recogniser.pt"
    line = one_error_line(avsec("sync", clip, "--syncnet", recogniser, cwd=wf), recogniser)
    assert line.endswith("is a 'av_recogniser' checkpoint, expected 'syncnet'")


def test_every_report_ends_with_its_deviations_from_the_paper(snakemake_run):
    """docs/deviations.yaml, read against config.yaml: each paper's report.md ends with the table, marked as the
    smoke preset's run, and tables/deviations.html holds it."""
    for paper in ("stego", "advgan", "imgstego", "avdetect"):
        report = snakemake_run / "results" / paper / "report"
        page = (report / "report.md").read_text()
        section = page[page.index("## Deviations from the paper") :]
        assert "| ours, smoke (this run) |" in section and "This run used the `smoke` preset" in section, paper
        assert "<th>why</th>" in (report / "tables/deviations.html").read_text(), paper
