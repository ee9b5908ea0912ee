"""Paper 4's attacks as cluster jobs: rule attack_av runs one setting of a method's ε grid (one ε_A × ε_V, × one
target sentence for C&W) or the benign scores, resumably; rule gather_attack_av joins them into the method's
``attack.json`` and ``examples/``, which detect_av and the report read (:mod:`avsec.avdetect.gather`).

A setting job (:func:`attack_setting`) attacks ``clips`` clips of each split, drawn at random with ``seed`` (val:
where the detector's threshold is chosen; test: where it is measured) batch by batch and records every clip's
prediction, distortion and SyncNet offset and confidence. Its progress (the finished batches' records) goes to
``<out>.resume`` after a batch once ``save_every`` seconds have passed, and at once when SLURM or a user sends
SIGUSR1, SIGTERM or SIGINT; then the job exits 75 and a rerun continues after the last finished batch. Batches are
independent (the attacks draw no random numbers), so a resumed job writes exactly what an uninterrupted one writes,
but for the timing.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avsec.avdetect.attacks import CWSettings, bim, bim_iterations, cw_ctc, distortion, fgsm
from avsec.avdetect.data import flushing_denormals, load_av
from avsec.avdetect.gather import RESULT, gather_attacks
from avsec.avdetect.names import ATTACK_CORPUS, BENIGN, HEADS, attack_grid, initials, parse_setting
from avsec.avdetect.recogniser import load_recogniser, recognise, score_transcripts
from avsec.avdetect.syncnet import VSHIFT, load_syncnet, sync_scores
from avsec.core.errors import ConfigError, InputError
from avsec.io.atomic import atomic_path, write_text
from avsec.io.video import write_video
from avsec.train import Interrupted, resolve_device, save_checkpoint
from avsec.train.checkpoint import load_resume
from avsec.train.steplog import StepClock
from avsec.train.trainer import stop_on_signal


@dataclass(kw_only=True)
class AttackSettings(CWSettings):
    """Settings of rule attack_av and gather_attack_av (config.yaml avdetect.<method> and
    scales.<scale>.avdetect.<method>, and --seed); C&W's optimisation settings are those of :class:`CWSettings`.

    ``eps_audio``, ``eps_video``, ``splits``, ``sentences`` and ``targets`` take one value or a list (a one-value
    flag such as ``--eps_video 4`` arrives as a number)."""

    eps_audio: int | list[int]
    eps_video: int | list[int]
    splits: str | list[str] | tuple[str, ...] = ("val", "test")
    clips: int = 0  # clips of each split, drawn at random with ``seed`` (0: all)
    batch: int = 16
    examples: int = 1  # adversarial test videos written per setting
    vshift: int = VSHIFT
    alpha_audio: float = 64.0  # BIM's steps
    alpha_video: float = 1.0
    sentences: str | list[str] | tuple[str, ...] = ()  # C&W's target sentences (the paper's ten)
    targets: str | list[str] | tuple[str, ...] = ()  # the ones attacked, by their initials
    seed: int = 1024
    device: str = "auto"
    save_every: float = 60.0  # seconds between saves of the resume file (0: after every batch)

    def grid(self, method: str) -> list[str]:
        return attack_grid(method, self.eps_audio, self.eps_video, self.targets)

    def sentence(self, target: str) -> str:
        """The C&W target sentence whose initials are ``target``."""
        by_initials = {initials(s): s for s in _as_list(self.sentences)}
        if target not in by_initials:
            raise ConfigError(f"C&W target {target!r} is not the initials of a sentence ({', '.join(by_initials)})")
        return by_initials[target]


def _as_list(value) -> list:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [value]


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@flushing_denormals
def attack_setting(
    method: str,
    setting: str,
    mouths: str | Path,
    audio: str | Path,
    recogniser: str | Path,
    syncnet: str | Path,
    out: str | Path,
    settings: AttackSettings,
) -> dict:
    """One attack_av job: ``setting`` (a name of ``method``'s grid, or ``benign``) on ``clips`` clips of each
    split (drawn at random with ``seed``, the same for every setting), written to the folder ``out``
    (:data:`RESULT` and, for a setting, ``examples`` adversarial test videos with their audio). Resumable (module
    docstring); raises Interrupted after saving on a signal."""
    if method not in ATTACK_CORPUS:
        raise ConfigError(f"unknown attack {method!r}; choose one of {', '.join(ATTACK_CORPUS)}")
    s = settings
    grid = s.grid(method)
    if setting != BENIGN and setting not in grid:
        raise ConfigError(f"attack_av: {setting!r} is not a setting of {method}'s grid ({', '.join(grid)})")
    dev = resolve_device(s.device)
    model, ckpt = load_recogniser(recogniser, dev)
    expected = HEADS[ATTACK_CORPUS[method]]
    if model.head != expected:
        raise InputError(recogniser, f"{method} attacks a {expected!r} recogniser, this one has a {model.head!r} head")
    sync, _ = load_syncnet(syncnet, dev)
    classes = ckpt["classes"]
    data = {split: load_av(mouths, audio, split).sample(s.clips, s.seed) for split in _as_list(s.splits)}
    out = Path(out)
    resume = out.with_name(out.name + ".resume")
    key = hashlib.sha256(
        json.dumps(
            [method, setting, {k: v for k, v in asdict(s).items() if k not in ("device", "save_every")},
             _sha256(recogniser), _sha256(syncnet), {split: d.sources for split, d in data.items()}],
            sort_keys=True, default=str,
        ).encode()
    ).hexdigest()[:16]  # fmt: skip
    state = load_resume(resume, key) or {"parts": {split: [] for split in data}, "seconds": 0.0}
    attack = _batch_attack(method, setting, model, sync, classes, s)
    jobs = [(split, i) for split, d in data.items() for i in range(0, len(d), s.batch)]
    done = sum(len(parts) for parts in state["parts"].values())
    if done:
        print(f"resuming from {resume}: {done} of {len(jobs)} batches done", file=sys.stderr, flush=True)
    torch.manual_seed(s.seed)
    start, saved_at, seconds = time.perf_counter(), time.monotonic(), state["seconds"]
    clock = StepClock(dev)  # per-batch times for the rehearsal (avsec.train.steplog), when asked
    with stop_on_signal() as received:
        bar = tqdm(jobs[done:], desc=f"{setting}", initial=done, total=len(jobs), file=sys.stderr, mininterval=5,
                   ncols=100)  # fmt: skip
        clock.start()
        for split, i in bar:
            d = data[split]
            rows = range(i, min(i + s.batch, len(d)))
            v, a, _ = d.__getitems__(rows)
            keep = max(0, s.examples - i) if split == "test" else 0  # the clips written as examples
            labels = [d.labels[r] for r in rows]
            state["parts"][split].append(attack(v.to(dev), a.to(dev), labels, keep))
            clock.tick()
            if received or time.monotonic() - saved_at >= s.save_every:
                state["seconds"] = seconds + time.perf_counter() - start
                save_checkpoint(resume, {"kind": "resume", "fingerprint": key, **state})
                saved_at = time.monotonic()
            if received:
                bar.close()
                raise Interrupted(f"{setting}: stopped by signal {received[0]} after {split} clip {rows[-1] + 1}; "
                                  f"rerun to resume from {resume}")  # fmt: skip
    seconds += time.perf_counter() - start
    with atomic_path(out, directory=True) as tmp:
        if setting == BENIGN:
            result = _benign(method, model.head, data, state["parts"], s)
        else:
            result = _entry(method, setting, model.head, data, state["parts"], Path(tmp), s)
            result["attack_seconds"] = seconds
            print(f"{setting}: {_summary(result)}", flush=True)
        write_text(Path(tmp) / RESULT, json.dumps(result, indent=1) + "\n")
    resume.unlink(missing_ok=True)
    return result


def _batch_attack(method: str, setting: str, model, sync, classes: list[str], s: AttackSettings):
    """The function that attacks (or, for ``benign``, only scores) one batch and returns its records."""
    if setting == BENIGN:
        return lambda v, a, labels, keep: {
            "predicted": recognise(model, v, a, classes, s.batch),
            **sync_scores(sync, v, a, s.vshift),
        }
    _, eps_a, eps_v, target = parse_setting(setting)
    if method == "cw":
        sentence = s.sentence(target)
        return lambda v, a, labels, keep: _cw_part(model, sync, v, a, sentence, eps_a, eps_v, s, keep)

    def attack(v, a, labels, keep):
        y = torch.tensor([classes.index(label) for label in labels], device=v.device)
        if method == "fgsm":
            adv_v, adv_a = fgsm(model, v, a, y, eps_video=eps_v, eps_audio=eps_a)
        else:
            adv_v, adv_a = bim(model, v, a, y, eps_video=eps_v, eps_audio=eps_a, alpha_video=s.alpha_video,
                               alpha_audio=s.alpha_audio)  # fmt: skip
        return {
            "predicted": recognise(model, adv_v, adv_a, classes, s.batch),
            **distortion(v, adv_v, a, adv_a),
            **sync_scores(sync, adv_v, adv_a, s.vshift),
            "_examples": _first(keep, adv_v, adv_a),
        }

    return attack


def _benign(method: str, head: str, data: dict, parts: dict, s: AttackSettings) -> dict:
    benign = {}
    for split, d in data.items():
        benign[split] = {"sources": d.sources, "labels": d.labels, **_merge_parts(parts[split])}
        benign[split].update(score_transcripts(head, d.labels, benign[split]["predicted"]))
    return {
        "method": method,
        "corpus": ATTACK_CORPUS[method],
        "head": head,
        "targets": [s.sentence(t) for t in _as_list(s.targets)] if method == "cw" else [],
        "benign": benign,
        "skipped": [row for d in data.values() for row in d.skipped],
    }


def _entry(method: str, setting: str, head: str, data: dict, parts: dict, folder: Path, s: AttackSettings) -> dict:
    _, eps_a, eps_v, target = parse_setting(setting)
    entry = {"name": setting, "eps_audio": eps_a, "eps_video": eps_v, "splits": {}}
    if method == "bim":
        entry["iterations"] = bim_iterations(eps_v)
    if target:
        entry.update(target=s.sentence(target), iterations=s.iterations)
    for split, d in data.items():
        merged = _merge_parts(parts[split])
        examples = merged.pop("_examples", None)
        if split == "test" and examples is not None:
            _write_examples(folder, setting, examples, s.examples)
        if method != "cw":
            merged.update(score_transcripts(head, d.labels, merged["predicted"]))
        entry["splits"][split] = merged
    return entry


def attack_corpus(method: str, mouths: str | Path, audio: str | Path, recogniser: str | Path,
                  syncnet: str | Path, out: str | Path, examples_dir: str | Path,
                  settings: AttackSettings) -> dict:  # fmt: skip
    """Every attack_av job of ``method`` in this process, into ``<out stem>.settings/`` beside ``out``, then the
    gather: what the workflow's jobs give together (for tests, benches, or a run without Snakemake)."""
    folder = Path(out).with_name(Path(out).stem + ".settings")
    for name in (BENIGN, *settings.grid(method)):
        attack_setting(method, name, mouths, audio, recogniser, syncnet, folder / name, settings)
    return gather_attacks(method, folder, out, examples_dir, settings.grid(method))


def _cw_part(model, sync, v, a, target: str, eps_a: int, eps_v: int, settings: AttackSettings, keep: int) -> dict:
    """C&W on one batch: both kept examples (partial, full) with their WER, text, distortion and SyncNet scores,
    and the first ``keep`` partial examples to write."""
    res = cw_ctc(model, v, a, target, eps_video=eps_v, eps_audio=eps_a, settings=settings)
    part = {}
    for goal in ("partial", "full"):
        adv_v, adv_a = getattr(res, f"{goal}_video"), getattr(res, f"{goal}_audio")
        part[goal] = {
            "wer": getattr(res, f"{goal}_wer"),
            "text": getattr(res, f"{goal}_text"),
            **distortion(v, adv_v, a, adv_a),
            **sync_scores(sync, adv_v, adv_a, settings.vshift),
        }
    part["_examples"] = _first(keep, res.partial_video, res.partial_audio)
    return part


def _first(keep: int, *batches: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The first ``keep`` clips of each batch, copied to the CPU: only the clips written as examples are held,
    never every adversarial clip of a split (a slice alone would keep its whole batch alive)."""
    return tuple(batch[:keep].detach().cpu().clone() for batch in batches)


def _merge_parts(parts: list[dict]) -> dict:
    merged: dict = {}
    for key in parts[0]:
        if key == "_examples":
            merged[key] = tuple(torch.cat([p[key][i] for p in parts]) for i in range(2))
        elif isinstance(parts[0][key], dict):
            merged[key] = _merge_parts([p[key] for p in parts])
        else:
            merged[key] = [x for p in parts for x in p[key]]
    return merged


def _summary(entry: dict) -> str:
    test = entry["splits"].get("test", {})
    if "partial" in test:
        ok = [w <= 0.5 for w in test["partial"]["wer"]]
        return f"partial success {np.mean(ok):.0%} on {len(ok)} test clips"
    return f"test accuracy {test.get('accuracy', float('nan')):.2%}"


def _write_examples(folder: Path, name: str, adversarial: tuple[torch.Tensor, torch.Tensor], count: int) -> None:
    """The first ``count`` adversarial test clips as MP4 (grey mouth crops with the adversarial audio)."""
    video, audio = adversarial
    for i in range(min(count, len(video))):
        frames = video[i].round().clamp(0, 255).to(torch.uint8).numpy()
        sound = audio[i].round().clamp(-32768, 32767).to(torch.int16).numpy()
        write_video(folder / f"{name}_{i}.mp4", np.repeat(frames[..., None], 3, axis=-1), 25, sound, 16000)
