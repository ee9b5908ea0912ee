"""The report of paper 4 (detecting adversarial attacks on audiovisual speech recognition): Tables 1-4 with the
paper's numbers beside ours, Figure 1(d) (synchronisation confidence of benign vs adversarial clips), ROC
curves, the recognisers' and SyncNets' own scores, and a few adversarial example videos.

Inputs are the files rule report_avdetect declares (rules/avdetect.smk), for LRW and GRID: each corpus's
``recogniser.json``, ``syncnet.json`` and ``detection.json`` (told apart by their ``corpus`` field) and the attacks'
``examples`` folders (gathered by :func:`avsec.avdetect.attack_jobs.gather_attacks`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from avsec.avdetect.names import ATTACK_CORPUS, FIGURE2_EXAMPLES, FIGURE2_SUMMARY
from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path
from avsec.report.deviations import with_deviations
from avsec.report.folder import report_file, write_table_page
from avsec.report.tables import markdown_table, new_figure, save_figure

CORPORA = ("lrw", "grid")
# The paper's numbers (Ma, Petridis & Pantic, ICASSP 2020). Table 1: (method, ε_A, ε_V) → top-1 accuracy, L2^V,
# L∞^A (dB), AUC, F1. Tables 2 and 3: (ε_A, ε_V) → success rate, L2^V, L∞^V, L∞^A (dB), AUC, F1.
# Table 4 (ε_A = 512, ε_V = 4, partially targeted): target → the same columns.
PAPER: dict[str, Any] = {
    "lrw_benign_accuracy": 0.9720,
    "table1": {
        ("fgsm", 1024, 16): (0.1040, 3.46, -19.26, 0.99, 0.95),
        ("fgsm", 512, 16): (0.2187, 3.46, -25.28, 0.96, 0.89),
        ("fgsm", 256, 16): (0.3280, 3.46, -31.30, 0.90, 0.82),
        ("fgsm", 1024, 8): (0.1240, 1.73, -19.26, 0.98, 0.94),
        ("fgsm", 512, 8): (0.2440, 1.73, -25.28, 0.94, 0.86),
        ("fgsm", 256, 8): (0.3473, 1.73, -31.30, 0.86, 0.78),
        ("fgsm", 1024, 4): (0.1520, 0.87, -19.26, 0.98, 0.93),
        ("fgsm", 512, 4): (0.2753, 0.87, -25.28, 0.93, 0.85),
        ("fgsm", 256, 4): (0.3827, 0.87, -31.30, 0.83, 0.76),
        ("bim", 1024, 16): (0.0000, 1.66, -19.26, 0.90, 0.82),
        ("bim", 512, 16): (0.0000, 1.66, -25.28, 0.89, 0.81),
        ("bim", 256, 16): (0.0000, 1.70, -31.30, 0.84, 0.76),
        ("bim", 1024, 8): (0.0000, 1.07, -23.34, 0.85, 0.77),
        ("bim", 512, 8): (0.0000, 1.07, -25.28, 0.85, 0.77),
        ("bim", 256, 8): (0.0000, 1.08, -31.30, 0.81, 0.74),
        ("bim", 1024, 4): (0.0007, 0.67, -29.36, 0.78, 0.72),
        ("bim", 512, 4): (0.0007, 0.67, -29.36, 0.78, 0.72),
        ("bim", 256, 4): (0.0007, 0.67, -31.30, 0.77, 0.71),
    },
    "table2": {
        (1024, 8): (1.00, 3.14, 0.019, -43.34, 0.84, 0.75),
        (512, 8): (0.94, 3.38, 0.021, -43.93, 0.84, 0.75),
        (256, 8): (0.67, 3.63, 0.022, -46.77, 0.83, 0.75),
        (1024, 4): (0.99, 1.54, 0.010, -40.14, 0.79, 0.71),
        (512, 4): (0.78, 0.82, 0.010, -41.14, 0.78, 0.71),
        (256, 4): (0.42, 1.98, 0.012, -45.63, 0.74, 0.68),
    },
    "table3": {
        (1024, 8): (0.77, 3.26, 0.020, -35.22, 0.90, 0.82),
        (512, 8): (0.36, 3.88, 0.024, -39.29, 0.89, 0.81),
        (256, 8): (0.08, 4.15, 0.026, -43.37, 0.87, 0.81),
        (1024, 4): (0.66, 1.73, 0.011, -34.12, 0.87, 0.78),
        (512, 4): (0.19, 2.13, 0.013, -38.08, 0.84, 0.77),
        (256, 4): (0.02, 2.17, 0.013, -43.85, 0.83, 0.77),
    },
    "table4": {
        "bbaazp": (0.81, 1.842, 0.011, -41.56, 0.78, 0.71),
        "bwbonn": (0.70, 1.877, 0.012, -40.71, 0.79, 0.72),
        "lgwysa": (0.62, 1.956, 0.012, -40.48, 0.80, 0.72),
        "lraces": (0.78, 1.795, 0.011, -41.38, 0.77, 0.70),
        "pbapoa": (0.91, 1.821, 0.011, -41.51, 0.78, 0.71),
        "prbaos": (0.81, 1.734, 0.011, -41.55, 0.77, 0.72),
        "prbzts": (0.87, 1.673, 0.010, -41.87, 0.77, 0.70),
        "sgifoa": (0.72, 1.791, 0.011, -40.97, 0.79, 0.71),
        "srixfn": (0.76, 1.824, 0.011, -40.12, 0.80, 0.70),
        "swipfn": (0.83, 1.700, 0.011, -41.22, 0.78, 0.71),
    },
    "table4_setting": (512, 4),
}
GRID_COLUMNS = ("success", "l2_video", "linf_video", "linf_audio_db", "auc", "f1")


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _pair(ours, paper, fmt: str = "{:.2f}") -> str:
    """``ours (paper)`` in one cell."""
    mine = "–" if ours is None or (isinstance(ours, float) and np.isnan(ours)) else fmt.format(ours)
    theirs = "–" if paper is None else fmt.format(paper)
    return f"{mine} ({theirs})"


def _pct_pair(ours, paper) -> str:
    return f"{_pct(ours)} ({_pct(paper)})"


def table1(rows: list[dict]) -> str:
    """LRW, FGSM and BIM: top-1 accuracy, L2^V, L∞^A (dB), AUC, F1 per (ε_A, ε_V); paper's in parentheses."""
    body = []
    for method in ("fgsm", "bim"):
        for row in (r for r in rows if r["method"] == method):
            paper = PAPER["table1"].get((method, row["eps_audio"], row["eps_video"]), (None,) * 5)
            body.append([
                f"{method.upper()} (ε_A={row['eps_audio']}, ε_V={row['eps_video']})",
                _pct_pair(row["accuracy"], paper[0]),
                _pair(row["l2_video"], paper[1]),
                _pair(row["linf_audio_db"], paper[2]),
                _pair(row["auc"], paper[3]),
                _pair(row["f1"], paper[4]),
            ])  # fmt: skip
    return markdown_table(["Attack (configuration)", "Top-1 acc.", "L2^V", "L∞^A (dB)", "AUC", "F1"], body)


def grid_average(rows: list[dict], goal: str) -> dict[tuple[int, int], dict]:
    """C&W rows of one goal averaged over the target sentences, per (ε_A, ε_V)."""
    groups: dict[tuple[int, int], list[dict]] = {}
    for row in rows:
        if row["method"] == "cw" and row["goal"] == goal:
            groups.setdefault((row["eps_audio"], row["eps_video"]), []).append(row)
    out = {}
    for key, members in groups.items():
        out[key] = {
            c: _nanmean([m[c] for m in members]) for c in GRID_COLUMNS
        } | {"targets": len(members)}  # fmt: skip
    return out


def _nanmean(values) -> float | None:
    kept = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(kept)) if kept else None


def grid_table(rows: list[dict], goal: str) -> str:
    """Tables 2 (partial) and 3 (full): per (ε_A, ε_V), averaged over the targets; paper's in parentheses."""
    paper_table = PAPER["table2" if goal == "partial" else "table3"]
    body = []
    for (eps_a, eps_v), mean in sorted(grid_average(rows, goal).items(), key=lambda kv: (-kv[0][1], -kv[0][0])):
        paper = paper_table.get((eps_a, eps_v), (None,) * 6)
        body.append([
            eps_a, eps_v, mean["targets"], _pct_pair(mean["success"], paper[0]), _pair(mean["l2_video"], paper[1]),
            _pair(mean["linf_video"], paper[2], "{:.3f}"), _pair(mean["linf_audio_db"], paper[3]),
            _pair(mean["auc"], paper[4]), _pair(mean["f1"], paper[5]),
        ])  # fmt: skip
    header = ["ε_A", "ε_V", "targets", "Success rate", "L2^V", "L∞^V", "L∞^A (dB)", "AUC", "F1"]
    return markdown_table(header, body)


def table4_setting(rows: list[dict]) -> tuple[int, int] | None:
    """The paper's (512, 4) when we ran it, else our first C&W setting."""
    settings = [(r["eps_audio"], r["eps_video"]) for r in rows if r["method"] == "cw"]
    if not settings:
        return None
    return PAPER["table4_setting"] if PAPER["table4_setting"] in settings else settings[0]


def table4(rows: list[dict]) -> str:
    """Partially targeted C&W per target sentence at one (ε_A, ε_V)."""
    setting = table4_setting(rows)
    body = []
    for row in rows:
        if row["method"] != "cw" or row["goal"] != "partial" or (row["eps_audio"], row["eps_video"]) != setting:
            continue
        short = "".join(w[0] for w in row["target"].split())
        paper = PAPER["table4"].get(short, (None,) * 6) if setting == PAPER["table4_setting"] else (None,) * 6
        body.append([
            f"{short} ({row['target']})", _pct_pair(row["success"], paper[0]),
            _pair(row["l2_video"], paper[1], "{:.3f}"),
            _pair(row["linf_video"], paper[2], "{:.3f}"), _pair(row["linf_audio_db"], paper[3]),
            _pair(row["auc"], paper[4]), _pair(row["f1"], paper[5]),
        ])  # fmt: skip
    header = ["Target phrase", "Success rate", "L2^V", "L∞^V", "L∞^A (dB)", "AUC", "F1"]
    return markdown_table(header, body)


def confidence_histogram(path: Path, benign: list[float], adversarial: list[float], title: str) -> None:
    """Figure 1(d): confidence distributions of benign and adversarial clips."""
    fig = new_figure(5, 3.2)
    ax = fig.add_subplot()
    values = np.concatenate([benign, adversarial]) if benign or adversarial else np.zeros(1)
    bins = np.linspace(float(values.min()), float(values.max()) + 1e-6, 21)
    ax.hist(benign, bins=bins, alpha=0.6, label="benign", color="tab:blue")
    ax.hist(adversarial, bins=bins, alpha=0.6, label="adversarial", color="tab:red")
    ax.set_xlabel("synchronisation confidence")
    ax.set_ylabel("clips")
    ax.set_title(title)
    ax.legend()
    save_figure(fig, path)


def roc_figure(path: Path, rows: list[dict], title: str) -> None:
    fig = new_figure(5, 4)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for row in rows:
        label = row["name"] + (f" ({row['goal']})" if row.get("goal") else "") + f", AUC {row['auc']:.2f}"
        ax.plot(row["roc"]["fpr"], row["roc"]["tpr"], linewidth=1.2, label=label)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(fontsize=6, loc="lower right")
    save_figure(fig, path)


def visual_noise(benign: np.ndarray, adversarial: np.ndarray, scale: float = 64) -> np.ndarray:
    """Figure 2's noise panel: ``scale`` × (adversarial − benign), float (the paper amplifies the visual noise by
    64; a pixel changed by ε_V = 4 moves by 256)."""
    return scale * (np.asarray(adversarial, dtype=np.float64) - np.asarray(benign, dtype=np.float64))


def noise_image(noise: np.ndarray) -> np.ndarray:
    """Noise as a uint8 image: 128 + noise, clipped to [0, 255] (mid-grey where nothing changed)."""
    return np.clip(np.rint(128 + np.asarray(noise, dtype=np.float64)), 0, 255).astype(np.uint8)


def _strip(frames: np.ndarray) -> np.ndarray:
    """Frames (K, H, W[, 3]) side by side, (H, K·W[, 3])."""
    return np.concatenate(list(frames), axis=1)


def figure2(path: Path, arrays, summary: dict) -> None:
    """Figure 2 of the paper for one clip: per BIM setting (ε_V, ε_A), benign / noise / adversarial (rows) as the
    shown frames with the mouth pasted back into the face (the noise × ``summary["scale"]``), the waveform (the
    noise is δ_A itself, ε_A dashed) and the log-spectrum (columns). ``arrays`` holds rule figure2_av's
    ``examples.npz`` (:mod:`avsec.avdetect.figure2`), ``summary`` its ``examples.json``."""
    eps_v, eps_a = np.asarray(arrays["eps_video"]), np.asarray(arrays["eps_audio"])
    count, rate, scale = len(eps_v), float(summary["rate"]), summary["scale"]
    benign_faces, benign_audio = np.asarray(arrays["benign_faces"]), np.asarray(arrays["benign_audio"], np.float64)
    seconds = len(benign_audio) / rate
    t = np.arange(len(benign_audio)) / rate
    peak = max(float(np.abs(benign_audio).max()), float(np.abs(arrays["adversarial_audio"]).max()), 1.0) * 1.05
    specs = np.concatenate([arrays["benign_logspec"][None], arrays["adversarial_logspec"]])
    spec_range = (float(specs.min()), float(specs.max()))
    extent = (0.0, seconds, 0.0, rate / 2000)
    columns = 2 if count > 1 else 1
    rows = -(-count // columns)
    fig = new_figure(8.5 * columns, 5.2 * rows)
    blocks = np.asarray(fig.subfigures(rows, columns, squeeze=False)).ravel()
    for i, block in enumerate(blocks):
        if i >= count:
            continue
        setting = summary["settings"][i]
        adv_faces = np.asarray(arrays["adversarial_faces"][i])
        adv_audio = np.asarray(arrays["adversarial_audio"][i], np.float64)
        block.suptitle(
            f"ε_V = {eps_v[i]}, ε_A = {eps_a[i]} (BIM, {setting['iterations']} iterations): "
            f"{summary['label']} → {setting['predicted']}",
            fontsize=9,
        )
        axes = block.subplots(3, 3, gridspec_kw={"width_ratios": [2.2, 1, 1]})
        images = (benign_faces, noise_image(visual_noise(benign_faces, adv_faces, scale)), adv_faces)
        waves = (benign_audio, adv_audio - benign_audio, adv_audio)
        spectra = (arrays["benign_logspec"], arrays["noise_logspec"][i], arrays["adversarial_logspec"][i])
        names = ("benign", f"noise (video ×{scale:g})", "adversarial")
        for r, (image, wave, spec, name) in enumerate(zip(images, waves, spectra, names, strict=True)):
            ax = axes[r, 0]
            ax.imshow(_strip(image), cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(name, fontsize=8)
            ax = axes[r, 1]
            ax.plot(t, wave, linewidth=0.4, color="tab:red" if r == 1 else "tab:blue")
            if r == 1:
                ax.axhline(eps_a[i], color="grey", linestyle="--", linewidth=0.6)
                ax.axhline(-eps_a[i], color="grey", linestyle="--", linewidth=0.6)
                ax.set_ylim(-1.3 * eps_a[i], 1.3 * eps_a[i])
            else:
                ax.set_ylim(-peak, peak)
            ax.set_xlim(0, seconds)
            ax.tick_params(labelsize=6)
            ax = axes[r, 2]
            limits = (float(spec.min()), float(spec.max())) if r == 1 else spec_range
            ax.imshow(spec, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=limits[0], vmax=limits[1])
            ax.tick_params(labelsize=6)
        axes[0, 0].set_title("frames " + ", ".join(str(f) for f in arrays["shown"]), fontsize=8)
        axes[0, 1].set_title("waveform (int16 units)", fontsize=8)
        axes[0, 2].set_title("log-spectrum (kHz)", fontsize=8)
        axes[2, 1].set_xlabel("s", fontsize=7)
        axes[2, 2].set_xlabel("s", fontsize=7)
    save_figure(fig, path)


def _figure2_reach(summary: dict) -> str:
    """The L∞ each setting of Figure 2 reached, and why the audio's stops short of ε_A where it does (BIM's
    iterations × α_A)."""
    alpha = summary.get("settings_used", {}).get("alpha_audio")
    parts, short = [], []
    for row in summary["settings"]:
        parts.append(f"{row['linf_video_pixels']:g} px / {row['linf_audio']:g} (ε_V = {row['eps_video']}, "
                     f"ε_A = {row['eps_audio']})")  # fmt: skip
        if alpha and row["linf_audio"] < row["eps_audio"] and row["iterations"] * alpha < row["eps_audio"]:
            short.append(f"ε_A = {row['eps_audio']} at ε_V = {row['eps_video']}: {row['iterations']} × α_A = "
                         f"{row['iterations'] * alpha:g}")  # fmt: skip
    text = "L∞ reached, video / audio (int16 units): " + "; ".join(parts) + "."
    if short:
        text += " BIM's min(ε_V + 4, 1.25 ε_V) steps of α_A cap the audio below ε_A (" + "; ".join(short) + ")."
    return text


def _figure2_examples(folder: Path) -> tuple[dict, dict]:
    """Rule figure2_av's ``examples.npz`` (as arrays) and ``examples.json`` in ``folder``."""
    summary = _load(folder / FIGURE2_SUMMARY)
    try:
        with np.load(folder / FIGURE2_EXAMPLES) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise InputError(folder / FIGURE2_EXAMPLES, f"unreadable Figure 2 examples ({exc})") from None
    return arrays, summary


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable results JSON ({exc})") from None


def _by_corpus(paths: list[str | Path], kind: str) -> dict[str, dict]:
    """The JSONs of one kind keyed by their ``corpus`` field; each of LRW and GRID must be among them."""
    found: dict[str, dict] = {}
    for path in map(Path, paths):
        result = _load(path)
        corpus = result.get("corpus") if isinstance(result, dict) else None
        if corpus not in CORPORA:
            raise InputError(path, f"not {kind} results of {' or '.join(CORPORA)} (corpus {corpus!r})")
        found[corpus] = result
    missing = [corpus for corpus in CORPORA if corpus not in found]
    if missing:
        raise InputError(", ".join(map(str, paths)) or kind, f"no {kind} results of {', '.join(missing)}")
    return found


def _example_videos(folders: list[str | Path]) -> list[Path]:
    """The attacks' example videos in the tables' order: LRW's (FGSM, BIM) before GRID's (C&W), then by folder
    and name; a video's attack is the method its name starts with (``<method>_a<ε_A>_v<ε_V>...``)."""

    def order(video: Path) -> tuple[int, tuple[str, ...], str]:
        corpus = ATTACK_CORPUS.get(video.name.split("_")[0])
        rank = CORPORA.index(corpus) if corpus in CORPORA else len(CORPORA)
        return rank, video.parent.parts, video.name

    videos = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise InputError(folder, "examples folder not found")
        videos += folder.glob("*.mp4")
    return sorted(videos, key=order)


def write_report(
    recognisers: list[str | Path],
    syncnets: list[str | Path],
    detections: list[str | Path],
    examples: list[str | Path],
    out: str | Path,
    deviations: str = "",
    figure2_folders: list[str | Path] = (),
) -> None:
    """Read each corpus's recogniser, SyncNet and detection JSONs, the videos of the attacks' ``examples``
    folders and rule figure2_av's ``figure2_folders``; write report.md, tables/ (one HTML page per table), figures/
    and video/ (the examples) into ``out`` (atomically, as one directory, in the layout of
    :mod:`avsec.report.folder`)."""
    found = {
        kind: _by_corpus(paths, kind)
        for kind, paths in (("recogniser", recognisers), ("syncnet", syncnets), ("detection", detections))
    }
    data = {corpus: {kind: found[kind][corpus] for kind in found} for corpus in CORPORA}
    videos = _example_videos(examples)
    figure2_examples = [_figure2_examples(Path(folder)) for folder in figure2_folders]
    lrw_rows, grid_rows = data["lrw"]["detection"]["settings"], data["grid"]["detection"]["settings"]
    rec_rows = []
    for corpus in CORPORA:
        rec, sync = data[corpus]["recogniser"], data[corpus]["syncnet"]
        paper_acc = PAPER["lrw_benign_accuracy"] if corpus == "lrw" else None
        rec_rows.append([
            corpus.upper(), rec["head"], _pct_pair(rec["accuracy"], paper_acc),
            "–" if "wer" not in rec else f"{100 * rec['wer']:.2f}%", rec["parameters"],
            f"{sync['sync_auc']:.3f}", f"{sync['in_sync_confidence']:.3f}",
            "–" if sync["mismatched_confidence"] is None else f"{sync['mismatched_confidence']:.3f}",
            _pct(sync["offset_within_1"]),
        ])  # fmt: skip
    networks = markdown_table(
        [
            "Corpus",
            "Head",
            "Benign top-1 / sentence acc.",
            "Benign WER",
            "Parameters",
            "Sync AUC",
            "Conf. in sync",
            "Conf. mismatched",
            "Offset within ±1",
        ],
        rec_rows,
    )
    setting = table4_setting(grid_rows)
    sections = {  # stem -> (title, Markdown): a page in tables/ and a section of report.md each
        "networks": (
            "Recognisers and synchronisation networks",
            networks + "\nSync AUC: how well SyncNet's confidence separates each test clip with its own audio from "
            "the same clip with another test clip's audio.\n",
        ),
        "table1": ("Table 1: LRW, FGSM and BIM (untargeted)", table1(lrw_rows)),
        "table2": (
            "Table 2: GRID, partially targeted C&W (WER ≤ 50 %), averaged over the target sentences",
            grid_table(grid_rows, "partial"),
        ),
        "table3": (
            "Table 3: GRID, fully targeted C&W (WER = 0), averaged over the target sentences",
            grid_table(grid_rows, "full"),
        ),
        "table4": (
            f"Table 4: GRID, partially targeted C&W per target (ε_A = {setting[0] if setting else '–'}, "
            f"ε_V = {setting[1] if setting else '–'})",
            table4(grid_rows),
        ),
    }
    with atomic_path(out, directory=True) as tmp:
        tmp = Path(tmp)
        lines = ["# Paper 4: detecting adversarial attacks on audiovisual speech recognition", ""]
        lines += [
            "Ours first, the paper's (Ma, Petridis & Pantic, ICASSP 2020) in parentheses. Detection: SyncNet "
            "confidence (median − min of the mean distances over ±15 frame offsets); AUC on the test clips "
            "(benign vs adversarial), F1 = average F1 of the two classes on test at the threshold that maximises it "
            "on the validation clips. Distortion: L2^V per frame on the [0, 1] grey scale averaged over frames, "
            "L∞^V on the [0, 1] scale, L∞^A = dB(δ) − dB(x). Each table is also a page in `tables/`.",
            "",
        ]
        for stem, (title, body) in sections.items():
            write_table_page(tmp, stem, title, body)
            lines += [f"## {title}", "", body]
        lines += ["## Figures", ""]
        partial = [r for r in grid_rows if r.get("goal") == "partial"]
        if partial:
            benign = partial[0]["benign_confidence"]
            adversarial = [c for r in partial for c in r["adversarial_confidence"]]
            confidence_histogram(
                report_file(tmp, "figures", "figure1d_grid_confidence.png"), benign, adversarial,
                f"GRID: {len(benign)} benign vs {len(adversarial)} adversarial (C&W, partial)",
            )  # fmt: skip
            lines.append("![Figure 1(d)](figures/figure1d_grid_confidence.png)")
        if lrw_rows:
            adversarial = [c for r in lrw_rows for c in r["adversarial_confidence"]]
            confidence_histogram(
                report_file(tmp, "figures", "confidence_lrw.png"), lrw_rows[0]["benign_confidence"], adversarial,
                "LRW: benign vs adversarial (FGSM, BIM)",
            )  # fmt: skip
            lines.append("![LRW confidence](figures/confidence_lrw.png)")
        for arrays, summary in figure2_examples:
            name = "figure2.png" if summary["corpus"] == "lrw" else f"figure2_{summary['corpus']}.png"
            figure2(report_file(tmp, "figures", name), arrays, summary)
            lines += [
                f"Figure 2 ({summary['corpus'].upper()}, test clip `{summary['source']}`, {summary['label']}): BIM at "
                "each ε_V × ε_A; rows benign, noise (the visual noise × "
                f"{summary['scale']}, as in the paper; the audio noise as it is), adversarial; the perturbed mouth "
                "crops pasted back into the face frames. " + _figure2_reach(summary),
                "",
                f"![Figure 2]({'figures/' + name})",
                "",
            ]
        for corpus, rows in (("lrw", lrw_rows), ("grid", grid_rows)):
            if rows:
                roc_figure(
                    report_file(tmp, "figures", f"roc_{corpus}.png"), rows, f"{corpus.upper()}: ROC of −confidence"
                )
                lines.append(f"![ROC {corpus}](figures/roc_{corpus}.png)")
        copied = []
        for video in videos:
            shutil.copyfile(video, report_file(tmp, "video", video.name))
            copied.append(video.name)
        lines += ["", "## Adversarial examples (mouth crops with the adversarial audio)", ""]
        lines += [f"- [video/{name}](video/{name})" for name in copied] or ["(none)"]
        page = "\n".join(lines) + "\n"
        (tmp / "report.md").write_text(with_deviations(tmp, page, deviations), encoding="utf-8")
