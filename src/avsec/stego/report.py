"""The report of paper 1 (GAN audio-in-audio steganography): Tables 2, 3 and 4 and Figure 3, ours beside the
paper's numbers.

Inputs are the JSON files the workflow writes (the rule's declared inputs; avsec.stego.names.report_inputs lists
them for a scale's runs): one evaluation per trained run (its eval.json; the WAV examples of Figure 3 are read from
the file's directory) and one security result per dataset and method; and each dataset's prepared directory, whose
manifest gives the clips prepared (the "Clips used" table: every count beside the paper's). Table 2 is the ``nor``
runs (RAN and HPF), Table 3 the ``ran`` runs (NOR and AN) with channel noise, as in the paper (its Table 3 NOR rows
repeat Table 2's RAN carrier numbers).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avsec.core.errors import InputError
from avsec.dsp.stft import stft
from avsec.io.atomic import atomic_path
from avsec.io.audio import INT16_SCALE, read_audio
from avsec.io.shards import Manifest
from avsec.report.deviations import with_deviations
from avsec.report.folder import report_file, write_table_page
from avsec.report.tables import heatmap, markdown_table, new_figure, save_figure
from avsec.stego.names import PREP, RESULTS

PAPER_STEGO_CLIPS = 5000  # section 4.5: the security experiment's stego clips
# section 4.1: "10,000 audio samples ... split in quarter" per dataset; section 4.5: the 5 000 stego clips and their
# 5 000 carriers merged, then split in half for the steganalyzers
PAPER_CLIPS = {"prepared": 10000, "train": 7500, "test": 2500, "steganalysis": (5000, 5000)}
DATASETS = {"timit": "TIMIT", "librispeech": "LibriSpeech"}
# The paper's numbers (Ye, Jiang and Huang): Tables 2 and 3 are (carrier MSE, secret MSE, carrier SNR dB,
# secret SNR dB); Table 4 is (SRM accuracy, CNN-steganalyzer accuracy).
PAPER: dict[str, Any] = {
    "table2": {
        "timit": {"ran": (0.0001, 0.0003, 6.8479, 0.3599), "hpf": (0.0001, 0.0004, 7.2413, -2.4235)},
        "librispeech": {"ran": (0.0035, 0.0047, 1.8732, 0.1239), "hpf": (0.0056, 0.0058, 2.2481, 0.1272)},
    },
    "table3": {
        "timit": {"nor": (0.0001, 0.0003, 6.8470, -0.0596), "an": (0.0042, 0.0002, 5.9564, 1.9642)},
        "librispeech": {"nor": (0.0035, 0.0050, 1.8732, -0.2861), "an": (0.0096, 0.0049, 0.9148, 0.1753)},
    },
    "table4": {
        "timit": {"GAN-ste": (0.8526, 0.9156), "HCM": (0.8614, 0.8962), "EECS": (0.7130, 0.8451)},
        "librispeech": {"GAN-ste": (0.7382, 0.9258), "HCM": (0.6841, 0.8917), "EECS": (0.7024, 0.9145)},
    },
}
METHOD_NAMES = {
    "gan": "GAN steganography (ours)",
    "lsb_matching": "LSB matching (ours)",
    "echo_hiding": "echo hiding (ours)",
}
KEYS = ("carrier_mse", "secret_mse", "carrier_snr_db", "secret_snr_db")
ROWS = ("carrier", "secret", "stego", "revealed")


def mixing_reference(carrier_snr_db: float) -> float:
    """The secret SNR (dB) a plain linear mix reaches at the same carrier SNR: stego = carrier + g·secret with
    uncorrelated clips of equal power has carrier SNR −20·log10 g, and the best scalar receiver then gets
    10·log10(1 + g²) for the secret. A learned scheme is worth something where it beats this."""
    if not math.isfinite(carrier_snr_db):
        return float("nan")
    return 10.0 * math.log10(1.0 + 10.0 ** (-carrier_snr_db / 10.0))


def write_report(
    evaluations: Sequence[str | Path],
    security: Sequence[str | Path],
    out: str | Path,
    deviations: str = "",
    prep: Sequence[str | Path] = (),
) -> None:
    """Read the evaluations (eval.json files), security results (one JSON per dataset and method) and the prepared
    directories ``prep`` (their manifests: :func:`prep_counts`) and write the tables and figures to the directory
    ``out`` (:func:`render_report`). An unreadable file is one line naming it."""

    def load(file: str | Path, **extra) -> dict:
        try:
            return {**json.loads(Path(file).read_text(encoding="utf-8")), **extra}
        except (OSError, ValueError) as exc:
            raise InputError(file, f"unreadable results JSON ({exc})") from None

    loaded = [load(file, path=str(Path(file).parent)) for file in evaluations]
    prepared = [prep_counts(directory) for directory in prep]
    render_report(out, loaded, [load(file) for file in security], deviations, prepared)


def prep_counts(directory: str | Path) -> dict:
    """The clips a prepared directory holds, from its manifest.tsv: ``rows``, ``train``, ``test``, ``sources`` (the
    files they were cut from) and ``overlapping`` (rows sharing samples with another row of their file); the
    dataset is the directory's name. A missing or malformed manifest is one line naming it."""
    path = Path(directory) / "manifest.tsv"
    try:
        manifest = Manifest(path)
        split, source = manifest.column("split"), manifest.column("source")
        offset, length = manifest.column("offset").astype(np.int64), manifest.column("length").astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(path, f"unreadable prepared manifest ({exc})") from None
    order = np.lexsort((offset, source))  # by file, then offset: a row overlaps its file's next row or none
    s, o, n = source[order], offset[order], length[order]
    shared = (s[1:] == s[:-1]) & (o[1:] < o[:-1] + n[:-1])
    overlapping = np.zeros(len(order), dtype=bool)
    overlapping[1:] |= shared
    overlapping[:-1] |= shared
    return {
        "dataset": Path(directory).name,
        "rows": len(manifest),
        "train": int(np.sum(split == "train")),
        "test": int(np.sum(split == "test")),
        "sources": len(set(source.tolist())),
        "overlapping": int(overlapping.sum()),
    }


def render_report(
    out_dir: str | Path,
    evaluations: list[dict],
    security: list[dict],
    deviations: str = "",
    prepared: Sequence[dict] = (),
) -> None:
    """Write paper 1's report directory atomically from the loaded results (each evaluation with ``"path"``, its
    directory, added) and the prepared counts (:func:`prep_counts`), in the layout of :mod:`avsec.report.folder`:
    ``tables/{data,table2,table3,table4,runs}.html``,
    ``figures/figure3.png`` (carrier, secret, stego and revealed spectrograms), ``figures/table4.png``,
    ``audio/<dataset>_<run>_{carrier,secret,stego,revealed}.wav`` (Figure 3's clips) and ``report.md``."""
    with atomic_path(out_dir, directory=True) as tmp:
        sections = {
            "data": ("Clips used, ours beside the paper's", data_section(prepared, evaluations, security)),
            "table2": ("Table 2: MSE and SNR of carrier and secret (validation set)", table2_section(evaluations)),
            "table3": ("Table 3: the same with 60 dB Gaussian noise on the stego audio", table3_section(evaluations)),
            "table4": ("Table 4: steganalyzer accuracy (security experiment)", table4_section(security)),
            "runs": ("Every trained run", runs_section(evaluations)),
        }
        for stem, (title, body) in sections.items():
            write_table_page(tmp, stem, title, body)
        picked = figure3_examples(evaluations)
        if picked:
            figure3(picked, report_file(tmp, "figures", "figure3.png"))
        table4_figure(security, report_file(tmp, "figures", "table4.png"))
        clips = copy_clips(picked, tmp)
        page = _page(evaluations, sections, bool(picked), clips, prepared)
        (tmp / "report.md").write_text(with_deviations(tmp, page, deviations), encoding="utf-8")


def copy_clips(picked: Sequence[dict], out_dir: Path) -> list[str]:
    """Copy Figure 3's clips (the first example of each picked evaluation) into ``audio/``; their names there."""
    names = []
    for e in picked:
        for row in ROWS:
            name = f"{e['dataset']}_{e['run']}_{row}.wav"
            shutil.copyfile(Path(e["path"]) / e["examples"][0][row], report_file(out_dir, "audio", name))
            names.append(name)
    return names


def data_section(prepared: Sequence[dict], evaluations: Sequence[dict], security: Sequence[dict]) -> str:
    """Every count of clips this run used, beside the paper's: the prepared rows and their splits (the manifests),
    then the clips each training, evaluation and security job used (their JSON)."""
    paper = PAPER_CLIPS
    rows = []
    for dataset in _datasets([*prepared, *evaluations, *security]):
        name = DATASETS.get(dataset, dataset)
        for p in (p for p in prepared if p["dataset"] == dataset):
            where = f"{PREP}/{dataset}/manifest.tsv"
            rows += [
                [name, "prepared segments", p["rows"], paper["prepared"], where],
                [name, "train split", p["train"], paper["train"], where],
                [name, "test split (the paper's validation set)", p["test"], paper["test"], where],
                [name, "source utterances", p["sources"], None, where],
                [name, "rows overlapping another of their utterance", p["overlapping"], None, where],
            ]
        for e in (e for e in evaluations if e["dataset"] == dataset):
            where = f"{RESULTS}/{dataset}/{e['run']}/eval.json"
            rows += [
                [name, f"training clips, run {e['run']}", e.get("train_clips"), paper["train"], where],
                [name, f"evaluation clips, run {e['run']}", e["clips"], paper["test"], where],
            ]
        for r in (r for r in security if r["dataset"] == dataset):
            where = f"{RESULTS}/{dataset}/security/{r['method']}.json"
            halves = f"{r['train_clips']} / {r['val_clips']}"
            rows += [
                [name, f"stego clips, {METHOD_NAMES.get(r['method'], r['method'])}", r["carriers"], PAPER_STEGO_CLIPS,
                 where],
                [name, f"steganalyzer training / validation clips, {r['method']}", halves,
                 " / ".join(map(str, paper["steganalysis"])), where],
            ]  # fmt: skip
    return (
        markdown_table(("Dataset", "Clips", "Ours", "Paper", "From"), rows)
        + "\nThe paper uses 10 000 clips per dataset, a quarter for testing (section 4.1), and 5 000 stego clips in "
        "the security experiment, merged with their carriers and halved (section 4.5). TIMIT's utterances give "
        "only about 6 000 to 9 000 whole non-overlapping 32 640-sample segments at 16 kHz, all used when the count "
        "is not reached; `prep.timit.hop: auto` reaches the count with overlapping segments (docs/protocols.md, "
        "paper 1). Training and evaluation use the first clips of their split up to "
        "`scales.<scale>.stego.{train,evaluate}.clips` (0: all). A blank training count: a checkpoint written "
        "before the count was recorded.\n"
    )


def _find(evaluations: Sequence[dict], dataset: str, analyzer: str, channel: str) -> dict | None:
    for e in evaluations:
        if (e["dataset"], e["analyzer"], e["channel"]) == (dataset, analyzer, channel):
            return e
    return None


def _datasets(items: Sequence[dict]) -> list[str]:
    seen = {e["dataset"] for e in items}
    return [d for d in DATASETS if d in seen] + sorted(seen - set(DATASETS))


def _pairs(ours: dict | None, paper: Sequence[float] | None) -> list:
    cells = []
    for k, key in enumerate(KEYS):
        fmt = "{:.4f}" if key.endswith("mse") else "{:.2f}"
        cells += [_fmt(ours.get(key) if ours else None, fmt), _fmt(paper[k] if paper else None, fmt)]
    return cells


def _fmt(value, fmt: str) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return fmt.format(value)


HEADER = (
    "Dataset",
    "Setting",
    "Carrier MSE",
    "(paper)",
    "Secret MSE",
    "(paper)",
    "Carrier SNR dB",
    "(paper)",
    "Secret SNR dB",
    "(paper)",
    "Chance secret SNR dB",
    "Mixing reference dB",
)


def table2_section(evaluations: Sequence[dict]) -> str:
    rows = []
    for dataset in _datasets(evaluations):
        for analyzer in ("ran", "hpf"):
            e = _find(evaluations, dataset, analyzer, "nor")
            paper = PAPER["table2"].get(dataset, {}).get(analyzer)
            clean = e["clean"] if e else None
            rows.append(
                [DATASETS.get(dataset, dataset), analyzer.upper(), *_pairs(clean, paper), *_references(e, clean)]
            )
    return (
        markdown_table(HEADER, rows)
        + "\nMSE on [-1, 1) samples; SNR = 10·log10(P_clean / P_error) per clip, averaged. Chance: the secret against "
        "another pair's revealed secret. Mixing reference: the secret SNR a plain linear mix would reach at our "
        "carrier SNR (see report.md). A blank cell: that run is not in this scale's list.\n"
    )


def table3_section(evaluations: Sequence[dict]) -> str:
    rows = []
    for dataset in _datasets(evaluations):
        for channel in ("nor", "an"):
            e = _find(evaluations, dataset, "ran", channel)
            paper = PAPER["table3"].get(dataset, {}).get(channel)
            noisy = e["noisy"] if e else None
            rows.append(
                [DATASETS.get(dataset, dataset), channel.upper(), *_pairs(noisy, paper), *_references(e, noisy)]
            )
    return (
        markdown_table(HEADER, rows)
        + "\nRAN steganalyzer; NOR: trained without noise, AN: trained with 60 dB Gaussian noise. The stego audio "
        "gets white Gaussian noise 60 dB below its power before decoding; carrier numbers are the noisy stego "
        "against the carrier.\n"
    )


def _references(e: dict | None, values: dict | None) -> list:
    if not e or not values:
        return [None, None]
    return [_fmt(e.get("chance_secret_snr_db"), "{:.2f}"), _fmt(mixing_reference(values["carrier_snr_db"]), "{:.2f}")]


def runs_section(evaluations: Sequence[dict]) -> str:
    header = (
        "Dataset",
        "Run",
        "Clips",
        "Carrier SNR dB",
        "Secret SNR dB",
        "Noisy secret SNR dB",
        "Chance dB",
        "Hide + reveal ms/clip",
    )
    rows = [
        [
            DATASETS.get(e["dataset"], e["dataset"]),
            e["run"],
            e["clips"],
            e["clean"]["carrier_snr_db"],
            e["clean"]["secret_snr_db"],
            e["noisy"]["secret_snr_db"],
            e.get("chance_secret_snr_db"),
            1e3 * e.get("seconds_per_clip_hide_reveal", float("nan")),
        ]
        for dataset in _datasets(evaluations)
        for e in evaluations
        if e["dataset"] == dataset
    ]
    return markdown_table(header, rows) + "\nTimes depend on the machine (device in each eval.json).\n"


def table4_section(security: Sequence[dict]) -> str:
    header = (
        "Dataset",
        "Algorithm",
        "Rich model (SRM-style)",
        "CNN steganalyzer",
        "Stego SNR dB",
        "Payload bits/sample",
        "Stego clips",
        "Validation clips",
    )
    rows = []
    for dataset in _datasets(security):
        name = DATASETS.get(dataset, dataset)
        for result in security:
            if result["dataset"] == dataset:
                rows.append(
                    [
                        name,
                        METHOD_NAMES.get(result["method"], result["method"])
                        + (f" [{result['run']}]" if result.get("run") else ""),
                        _fmt(result["rich_model_accuracy"], "{:.4f}"),
                        _fmt(result["cnn_accuracy"], "{:.4f}"),
                        result["stego_snr_db"],
                        _fmt(result["payload_bits_per_sample"], "{:.4g}"),
                        result["carriers"],
                        result["val_clips"],
                    ]
                )
        for algorithm, (srm, cnn) in PAPER["table4"].get(dataset, {}).items():
            rows.append([name, f"{algorithm} (paper)", _fmt(srm, "{:.4f}"), _fmt(cnn, "{:.4f}"), None, None,
                         PAPER_STEGO_CLIPS, None])  # fmt: skip
    return (
        markdown_table(header, rows)
        + "\nAccuracy of steganalyzers trained on one half of carriers + stego audio and tested on the other half "
        "(0.5 = chance: the lower, the more secure). The paper's HCM and EECS are not described well enough to "
        "reproduce; LSB matching and echo hiding are the classic baselines implemented here. Stego clips: the "
        f"carriers each experiment embedded into, against the paper's {PAPER_STEGO_CLIPS} (section 4.5); ours are "
        "at most the test split's clips (`scales.<scale>.stego.security.clips`), half of them validation.\n"
    )


def figure3_examples(evaluations: Sequence[dict]) -> list[dict]:
    """The evaluations Figure 3 shows: each dataset's first run with an example (its directory in ``"path"``)."""
    picked = []
    for dataset in _datasets(evaluations):
        for e in evaluations:
            if e["dataset"] == dataset and e.get("examples") and "path" in e:
                picked.append(e)
                break
    return picked


def figure3(picked: Sequence[dict], path: Path) -> Path:
    """Spectrograms of carrier, secret, stego and revealed secret (rows) for the first example of each picked
    evaluation (:func:`figure3_examples`, columns), like the paper's Figure 3."""
    fig = new_figure(3.2 * len(picked) + 1.0, 9.0)
    axes = fig.subplots(len(ROWS), len(picked), squeeze=False)
    for col, e in enumerate(picked):
        example, settings = e["examples"][0], e.get("stft", {"n_fft": 510, "hop": 128})
        for row, name in enumerate(ROWS):
            audio, rate = read_audio(Path(e["path"]) / example[name])
            power = _log_power(audio, settings)
            ax = axes[row][col]
            ax.imshow(
                power,
                origin="lower",
                aspect="auto",
                cmap="magma",
                vmin=-80.0,
                vmax=0.0,
                extent=(0, len(audio) / rate, 0, rate / 2000),
            )
            ax.set_title(f"{DATASETS.get(e['dataset'], e['dataset'])} {e['run']}: {name}", fontsize=8)
            ax.set_xlabel("time (s)", fontsize=7)
            ax.set_ylabel("kHz", fontsize=7)
            ax.tick_params(labelsize=6)
    return save_figure(fig, path)


def _log_power(audio: np.ndarray, settings: dict) -> np.ndarray:
    keep = {k: settings[k] for k in ("n_fft", "hop", "win_length", "window", "center") if k in settings}
    spec = stft(torch.from_numpy(audio.astype(np.float32) / INT16_SCALE), **keep).abs().square().numpy()
    return 10.0 * np.log10(np.maximum(spec / max(float(spec.max()), 1e-20), 1e-10))


def table4_figure(security: Sequence[dict], path: Path) -> None:
    rows = [
        f"{DATASETS.get(r['dataset'], r['dataset'])} {r['method']}"
        for dataset in _datasets(security)
        for r in security
        if r["dataset"] == dataset
    ]
    values = [
        [r["rich_model_accuracy"], r["cnn_accuracy"]]
        for dataset in _datasets(security)
        for r in security
        if r["dataset"] == dataset
    ]
    heatmap(
        np.array(values).reshape(len(rows), 2),
        rows,
        ["rich model", "CNN"],
        path,
        "Steganalyzer accuracy (ours; 0.5 = chance)",
        vmin=0.5,
        vmax=1.0,
    )


def _page(
    evaluations: Sequence[dict], sections: dict, figure: bool, clips: Sequence[str], prepared: Sequence[dict] = ()
) -> str:
    counts = sorted({e["clips"] for e in evaluations})
    samples = sorted({e["samples"] for e in evaluations})
    parts = [
        "# Paper 1: GAN audio-in-audio steganography — our reproduction\n",
        f"Evaluated on {', '.join(map(str, counts))} validation clips of {', '.join(map(str, samples))} samples per "
        "dataset and run. The paper's numbers are in the columns marked (paper). Each table is also a page in "
        "`tables/`, the figures are in `figures/`, Figure 3's clips in `audio/`.\n",
        *[
            f"{DATASETS.get(p['dataset'], p['dataset'])}: {p['rows']} prepared clips, {p['train']} train and "
            f"{p['test']} test (the paper: {PAPER_CLIPS['prepared']}, {PAPER_CLIPS['train']} and "
            f"{PAPER_CLIPS['test']}); every count is in the first table.\n"
            for p in prepared
        ],
        "How to read the SNRs: a plain linear mix `stego = carrier + g·secret` has carrier SNR −20·log10 g and lets "
        "the best scalar receiver recover the secret at 10·log10(1 + g²) dB. The paper's TIMIT RAN row (carrier "
        "6.85 dB, secret 0.36 dB) is close to that line (0.82 dB); the 'Mixing reference' column gives it for our "
        "carrier SNRs.\n",
    ]
    for stem, (title, body) in sections.items():
        parts.append(f"## {title}\n\n{body}\nPage: [tables/{stem}.html](tables/{stem}.html).\n")
    if figure:
        parts.append(
            "## Figure 3: carrier, secret, stego and revealed spectrograms\n\n![Figure 3](figures/figure3.png)\n"
        )
    parts.append("![Table 4](figures/table4.png)\n")
    if clips:
        parts.append("## Figure 3's clips\n\n" + "".join(f"- [audio/{name}](audio/{name})\n" for name in clips))
    return "\n".join(parts)
