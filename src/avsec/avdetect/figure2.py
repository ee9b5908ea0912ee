"""Paper 4's Figure 2 examples (rule figure2_av): one LRW test clip attacked by BIM at each ε_V × ε_A of the
figure (the paper's ε_V ∈ {4, 8}, ε_A ∈ {256, 512}), with the trained recogniser, by the same :func:`bim` as rule
attack_av, and the perturbed mouth crops pasted back into the clip's full face frames with
:func:`avsec.data.av.mouth.paste_back` (the per-frame transforms and crop boxes ``crop_mouths`` kept in
``mouths/transforms.npy`` and ``boxes.npy``).

The job writes ``examples.npz`` (:data:`EXAMPLES`) and ``examples.json`` (:data:`SUMMARY`) into its folder; the
report draws Figure 2 from them (:func:`avsec.avdetect.report.figure2`). The arrays:

- ``eps_video``, ``eps_audio`` (S,): the settings, ε_V ascending, then ε_A ascending; ``shown`` (K,) the frames drawn
- ``benign_crops`` (T, 96, 96) uint8 and ``adversarial_crops`` (S, T, 96, 96) float32: the attacked mouth crops, in
  pixels; |adversarial − benign| ≤ ε_V
- ``benign_audio`` (N,) int16 and ``adversarial_audio`` (S, N) float32, int16 units; |adversarial − benign| ≤ ε_A
- ``benign_faces`` (K, H, W, 3) and ``adversarial_faces`` (S, K, H, W, 3) uint8: the shown frames, the adversarial
  ones with their mouth pasted back (only the perturbation is warped back: ``paste_back(..., reference=benign)``)
- ``benign_logspec`` (F, M), ``adversarial_logspec`` and ``noise_logspec`` (S, F, M) float32: log(|STFT| + 1e-6)
  of the audio on the int16 scale / 32768 (the recogniser's STFT settings, ``av.audio``), the noise's being δ_A's
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from avsec.avdetect.attacks import bim, bim_iterations, check_eps
from avsec.avdetect.data import flushing_denormals, load_av
from avsec.avdetect.names import FIGURE2_EXAMPLES as EXAMPLES
from avsec.avdetect.names import FIGURE2_SUMMARY as SUMMARY
from avsec.avdetect.names import HEADS
from avsec.avdetect.recogniser import load_recogniser, recognise
from avsec.core.errors import ConfigError, InputError
from avsec.data.av.corpora import load_clip
from avsec.data.av.mouth import paste_back
from avsec.data.av.prep import corpus_clips
from avsec.dsp.stft import log_spectrogram
from avsec.io.atomic import atomic_path, write_text
from avsec.train import resolve_device

ROW_ARRAYS = ("transforms.npy", "boxes.npy")  # in the mouths folder, one row per crop row (crop_mouths, gather_av)


@dataclass(kw_only=True)
class Figure2Settings:
    """Settings of rule figure2_av (config.yaml avdetect.figure2; BIM's steps from avdetect.bim; the clip's frame
    count from av.<corpus>; the STFT from av.audio)."""

    frames: int  # frames per clip of the corpus (av.<corpus>.frames): the full video is decoded to as many
    eps_audio: int | list[int] = field(default_factory=lambda: [256, 512])
    eps_video: int | list[int] = field(default_factory=lambda: [4, 8])
    clip: int = 0  # the test clip, by its position in the test split (manifest order)
    shown: int | list[int] = field(default_factory=lambda: [7, 14, 21])  # the frames drawn
    scale: int = 64  # the visual noise's amplification in the figure (the paper's 64)
    alpha_audio: float = 64.0  # BIM's steps (avdetect.bim)
    alpha_video: float = 1.0
    rate: int = 16000  # the audio's sample rate (av.audio)
    n_fft: int = 512  # the log-spectra's STFT (av.audio)
    hop: int = 160
    win_length: int = 400
    device: str = "auto"

    def pairs(self) -> list[tuple[int, int]]:
        """(ε_V, ε_A) of every setting, ε_V ascending, then ε_A ascending."""
        pairs = sorted({(int(v), int(a)) for v in _as_list(self.eps_video) for a in _as_list(self.eps_audio)})
        for v, a in pairs:
            check_eps(a, v)
        return pairs


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _row_arrays(mouths: Path, rows: int) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name in ROW_ARRAYS:
        path = mouths / name
        if not path.is_file():
            raise InputError(path, "not found: crop_mouths keeps each clip's transforms and boxes there")
        arr = np.load(path, mmap_mode="r")
        if len(arr) != rows:
            raise InputError(path, f"{len(arr)} rows for {rows} mouth-crop rows")
        arrays.append(arr)
    return arrays[0], arrays[1]


def _full_frames(corpus: str, root: str | Path, source: str, frames: int) -> np.ndarray:
    """The clip's RGB frames decoded as crop_mouths decoded them (:func:`load_clip`)."""
    items, _ = corpus_clips(corpus, root, select={source}.__contains__)
    found = [item for item in items if item.source == source]
    if not found:
        raise InputError(Path(root) / source, "the test clip's video is not in the corpus")
    video, _ = load_clip(found[0], frames=frames)
    return video


def paste_frames(faces: np.ndarray, benign: np.ndarray, adversarial: np.ndarray, transforms: np.ndarray,
                 boxes: np.ndarray) -> np.ndarray:  # fmt: skip
    """Each face frame (K, H, W[, 3]) uint8 with the perturbation ``adversarial - benign`` of its mouth crop (K, S, S)
    pasted back through its transform (K, 2, 3) and box (K, 4): the frames of the figure's adversarial row."""
    return np.stack([
        paste_back(face, adv, transform, box, reference=ben)
        for face, ben, adv, transform, box in zip(faces, benign, adversarial, transforms, boxes, strict=True)
    ])  # fmt: skip


@flushing_denormals
def figure2_examples(corpus: str, root: str | Path, mouths: str | Path, audio: str | Path, recogniser: str | Path,
                     out: str | Path, settings: Figure2Settings) -> dict:  # fmt: skip
    """Attack the test clip ``settings.clip`` of ``corpus`` by BIM at every (ε_V, ε_A) of ``settings`` and write
    :data:`EXAMPLES` and :data:`SUMMARY` into the folder ``out`` (module docstring). Returns the summary."""
    s = settings
    pairs = s.pairs()
    dev = resolve_device(s.device)
    model, ckpt = load_recogniser(recogniser, dev)
    if model.head != "word":
        raise InputError(recogniser, f"BIM attacks a 'word' recogniser ({corpus}: {HEADS.get(corpus)!r}), this one "
                         f"has a {model.head!r} head")  # fmt: skip
    classes = ckpt["classes"]
    test = load_av(mouths, audio, "test")
    if not 0 <= s.clip < len(test):
        raise ConfigError(f"figure2_av: clip {s.clip} is not one of the {len(test)} test clips of {mouths}")
    clip = test.subset([s.clip])
    video, wave, _ = clip.__getitems__([0])
    frames = video.shape[1]
    shown = [int(f) for f in _as_list(s.shown)]
    if not shown or any(not 0 <= f < frames for f in shown):
        raise ConfigError(f"figure2_av: shown frames {shown} must lie in 0..{frames - 1}")
    transforms, boxes = _row_arrays(Path(mouths), len(test.parts["mouths"]))  # before the attack: fail early
    label, source = clip.labels[0], clip.sources[0]
    y = torch.tensor([classes.index(label)], device=dev)
    adv_v, adv_a = [], []
    for eps_v, eps_a in pairs:
        v, a = bim(model, video.to(dev), wave.to(dev), y, eps_video=eps_v, eps_audio=eps_a, alpha_video=s.alpha_video,
                   alpha_audio=s.alpha_audio)  # fmt: skip
        adv_v.append(v[0].cpu())
        adv_a.append(a[0].cpu())
    adv_v, adv_a = torch.stack(adv_v), torch.stack(adv_a)
    predicted = recognise(model, torch.cat([video.float(), adv_v]), torch.cat([wave.float(), adv_a]), classes)

    row = clip.rows[0][0]
    full = _full_frames(corpus, root, source, s.frames)
    if len(full) != frames:
        raise InputError(Path(root) / source, f"{len(full)} frames decoded, the crops have {frames}")
    benign_crops = video[0].numpy()
    faces = full[shown]
    adversarial_faces = np.stack([
        paste_frames(faces, benign_crops[shown], crops[shown].numpy(), transforms[row][shown], boxes[row][shown])
        for crops in adv_v
    ])  # fmt: skip

    def logspec(x: torch.Tensor) -> np.ndarray:
        return log_spectrogram(x.float(), n_fft=s.n_fft, hop=s.hop, win_length=s.win_length).numpy().astype(np.float32)

    arrays = {
        "eps_video": np.array([v for v, _ in pairs]),
        "eps_audio": np.array([a for _, a in pairs]),
        "shown": np.array(shown),
        "benign_crops": benign_crops,
        "adversarial_crops": adv_v.numpy().astype(np.float32),
        "benign_audio": wave[0].numpy(),
        "adversarial_audio": adv_a.numpy().astype(np.float32),
        "benign_faces": faces,
        "adversarial_faces": adversarial_faces,
        "benign_logspec": logspec(wave[0]),
        "adversarial_logspec": logspec(adv_a),
        "noise_logspec": logspec(adv_a - wave[0].float()),
    }
    dv = (adv_v - video.float()).flatten(1).abs().amax(1)
    da = (adv_a - wave.float()).abs().amax(1)
    summary = {
        "corpus": corpus,
        "source": source,
        "label": label,
        "benign_predicted": predicted[0],
        "scale": s.scale,
        "rate": s.rate,
        "settings": [
            {
                "eps_video": v,
                "eps_audio": a,
                "iterations": bim_iterations(v),
                "predicted": predicted[1 + i],
                "linf_video_pixels": float(dv[i]),
                "linf_audio": float(da[i]),
            }
            for i, (v, a) in enumerate(pairs)
        ],
        "settings_used": {k: v for k, v in asdict(s).items() if k != "device"},
    }
    with atomic_path(out, directory=True) as tmp:
        with open(Path(tmp) / EXAMPLES, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        write_text(Path(tmp) / SUMMARY, json.dumps(summary, indent=1) + "\n")
    return summary
