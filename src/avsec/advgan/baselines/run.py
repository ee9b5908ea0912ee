"""Run one of SpeechAdvGan's baseline attacks over a set of clips: per-clip results and Table 1's summary; and the
workflow's step (rule attack_baseline), which draws the test clips and their targets for it.

Table 1 compares the attacks by success rate, SNR (eq. 15, dB) and seconds per adversarial example. Each clip
gets its own generator seeded from ``seed`` and the clip's index, so any clip can be re-run on its own.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avsec.advgan.baselines.common import AttackResult
from avsec.advgan.baselines.genetic import genetic_attack
from avsec.advgan.baselines.pso import pso_attack
from avsec.advgan.data import clip_rows
from avsec.advgan.names import RESULTS, figure7_clip
from avsec.advgan.victims import load_victim, predict
from avsec.core.config import settings as from_flags
from avsec.core.errors import ConfigError, InputError
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import denormalize, normalize, read_audio, write_audio
from avsec.metrics.audio import snr_db
from avsec.train import resolve_device

# the keys are avsec.advgan.names.BASELINES (which the workflow reads without torch), in the same order
METHODS: dict[str, Callable[..., AttackResult]] = {"genetic": genetic_attack, "pso": pso_attack}


@dataclass
class BaselineAttack:
    """The settings of rule attack_baseline (its --key value flags): ``clips`` test clips drawn with ``seed``, the
    first ``examples`` of them written as WAV pairs to listen to, the device, and ``attack``, the method's own
    keyword settings (its budget ``iterations``, population, ...), checked by :func:`run_baseline`.
    :func:`baseline_attack` builds it from the flags."""

    clips: int
    seed: int = 1024
    examples: int = 0
    device: str = "auto"
    attack: dict = field(default_factory=dict)


def baseline_attack(given: Mapping) -> BaselineAttack:
    """:class:`BaselineAttack` from parsed flags: its fields, and every other flag into ``attack``."""
    own = [f.name for f in fields(BaselineAttack) if f.name != "attack"]
    attack = {key: value for key, value in given.items() if key not in own}
    return from_flags(
        BaselineAttack, {**{k: v for k, v in given.items() if k in own}, "attack": attack}, "attack_baseline"
    )


def attack_baseline(
    method: str,
    victim_ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    settings: BaselineAttack,
    examples_dir: str | Path | None = None,
) -> dict:
    """Run a black-box baseline on ``clips`` test clips drawn with ``seed``, each towards a random other label.

    With ``examples_dir``, the first ``examples`` clips are written there as int16 WAV pairs,
    ``<index>_<source>_to_<target>_{clean,adv}.wav`` (the folder is written whole or not at all, empty when
    ``examples`` is 0); the record's ``examples`` lists them relative to the folder of ``out``."""
    if settings.examples < 0:
        raise ConfigError(f"attack_baseline: examples must be non-negative, got {settings.examples}")
    dev = resolve_device(settings.device)
    victim, vckpt = load_victim(victim_ckpt)
    labels = list(vckpt["labels"])
    test = clip_rows(data, "test", labels)  # row numbers and labels: only the drawn clips are read
    rng = np.random.default_rng(settings.seed)
    pick = rng.choice(len(test), size=min(settings.clips, len(test)), replace=False)
    sources = [labels[int(test.labels[i])] for i in pick]
    targets = [str(rng.choice([t for t in labels if t != s])) for s in sources]
    x = normalize(test[torch.from_numpy(pick)]).to(dev)
    result, adversarial = run_baseline(
        method, victim.to(dev), x, sources, targets, labels, seed=settings.seed, return_adversarial=True,
        **settings.attack,
    )  # fmt: skip
    result = {"victim": vckpt["victim"], **result}
    if examples_dir is not None:
        result["examples"] = _write_examples(
            examples_dir, Path(out).parent, x.cpu(), adversarial, result["clips"][: settings.examples], vckpt
        )
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    return result


def _write_examples(
    examples_dir: str | Path, base: Path, clean: torch.Tensor, adversarial: torch.Tensor, rows: list[dict], vckpt
) -> list[dict]:
    """Write the WAV pairs of ``rows`` (the attack's per-clip records) into ``examples_dir``, atomically; their
    entries for the record: index, source, target, success and the two files relative to ``base``."""
    entries = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for row in rows:
            i, stem = row["index"], f"{row['index']}_{row['source']}_to_{row['target']}"
            files = {"clean": f"{stem}_clean.wav", "adversarial": f"{stem}_adv.wav"}
            write_audio(tmp / files["clean"], denormalize(clean[i].numpy()), int(vckpt["rate"]))
            write_audio(tmp / files["adversarial"], denormalize(adversarial[i].numpy()), int(vckpt["rate"]))
            where = Path(os.path.relpath(Path(examples_dir).resolve(), base.resolve()))
            entries.append(
                {**{k: row[k] for k in ("index", "source", "target", "success")},
                 **{kind: (where / name).as_posix() for kind, name in files.items()}}
            )  # fmt: skip
    return entries


def attack_figure7(
    generators: Mapping, out: str | Path, wav: str | Path, settings: BaselineAttack, method: str = "genetic"
) -> dict:
    """Figure 7's bottom row (rule attack_figure7): the baseline ``method`` on the clip Figure 7 shows, towards the
    same target, with the baseline's settings (``settings.clips`` and ``examples`` do not apply: one clip).

    The clip is :func:`avsec.advgan.names.figure7_clip` of the scale's ``generators``, the victims' labels read
    from their victim.json: the clean WAV of its generator's first example (rule evaluate_generator). Writes the
    adversarial clip, int16 at the clip's rate, to ``wav`` and the record to ``out``: the attack's per-clip result
    (success, queries, iterations, seconds), the victim's label for ``wav``, the SNR (eq. 15) of ``wav`` against
    the clean WAV as int16 samples (what a listener and the victim get from the files), and the files (the WAV's
    relative to the folder of ``out``). A failed attack still writes its best try, ``success`` false."""
    labels = {}
    for victim in generators:
        file = Path(RESULTS) / victim / "victim.json"
        try:
            labels[victim] = list(json.loads(file.read_text(encoding="utf-8"))["labels"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(file, f"unreadable victim metrics, no labels ({exc})") from None
    clip = figure7_clip(generators, labels)
    model, vckpt = load_victim(clip["victim_ckpt"])
    if list(vckpt["labels"]) != labels[clip["victim"]]:
        raise InputError(clip["victim_ckpt"], f"labels {list(vckpt['labels'])} differ from its victim.json's")
    rate = int(vckpt["rate"])
    samples, _ = read_audio(clip["clean"], expect_rate=rate)
    dev = resolve_device(settings.device)
    x = normalize(torch.from_numpy(samples))[None].to(dev)
    record, adversarial = run_baseline(
        method, model.to(dev), x, [clip["source"]], [clip["target"]], labels[clip["victim"]], seed=settings.seed,
        return_adversarial=True, **settings.attack,
    )  # fmt: skip
    written = denormalize(adversarial[0].numpy())
    predicted = labels[clip["victim"]][int(predict(model, torch.from_numpy(written)[None], 1)[0])]
    row = record["clips"][0]
    result = {
        "victim": clip["victim"],
        "generator": clip["generator"],
        "method": method,
        "source": clip["source"],
        "target": clip["target"],
        "success": row["success"],
        "predicted": predicted,
        "snr_db": round(float(snr_db(samples, written)), 4),
        "queries": row["queries"],
        "iterations": row["iterations"],
        "seconds": row["seconds"],
        "clean": clip["clean"],
        "adversarial": os.path.relpath(Path(wav).resolve(), Path(out).resolve().parent),
        "rate": rate,
        "settings": record["settings"],
    }
    write_audio(wav, written, rate)
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    return result


def run_baseline(
    method: str,
    model: torch.nn.Module,
    clips: torch.Tensor,
    sources: Sequence[str],
    targets: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int,
    return_adversarial: bool = False,
    **settings: Any,
) -> dict | tuple[dict, torch.Tensor]:
    """Attack clip ``i`` of ``clips`` (N, L) towards ``targets[i]`` with ``method`` ("genetic" or "pso").

    ``labels`` is the victim's class list (index = logit), ``sources`` the clips' true labels (reported only).
    ``settings`` are the attack's keyword arguments; its budget ``iterations`` (genetic: generations) is required.
    Clips are moved to the device of the model's parameters. Returns the JSON-ready record
    ``{"method", "clips": [per clip], "success", "snr_db", "seconds_per_clip", "settings"}``, and with
    ``return_adversarial`` also the adversarial waveforms (N, L) on the CPU. An SNR that is not finite (the
    clip left unchanged) is reported as null and left out of the mean.
    """
    attack = METHODS.get(method)
    if attack is None:
        raise ConfigError(f"attack method must be one of {', '.join(METHODS)}, got {method!r}")
    used = _settings(method, attack, settings)
    if clips.ndim != 2 or not len(clips):
        raise ValueError(f"expected clips of shape (N, L) with N ≥ 1, got {tuple(clips.shape)}")
    if not len(sources) == len(targets) == len(clips):
        raise ValueError(f"{len(clips)} clips but {len(sources)} sources and {len(targets)} targets")
    unknown = sorted(set(targets) - set(labels))
    if unknown:
        raise ConfigError(f"attack targets {', '.join(unknown)} are not among the victim's labels {list(labels)}")
    if seed < 0:
        raise ConfigError(f"seed must be non-negative, got {seed}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else clips.device
    rows, adversarial = [], []
    for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
        x = clips[index].to(device, torch.float32)
        generator = torch.Generator().manual_seed(clip_seed(seed, index))
        result = attack(model, x, labels.index(target), generator=generator, **used)
        snr = float(snr_db(x, result.adversarial))
        rows.append(
            {
                "index": index,
                "source": source,
                "target": target,
                "success": bool(result.success),
                "snr_db": round(snr, 4) if math.isfinite(snr) else None,
                "seconds": round(result.seconds, 4),
                "queries": int(result.queries),
                "iterations": int(result.iterations),
            }
        )
        print(
            f"{method} {index + 1}/{len(clips)} {source} → {target}: {'success' if result.success else 'failure'}"
            f" after {result.iterations} iterations, {result.queries} queries, {result.seconds:.1f} s,"
            f" SNR {snr:.1f} dB",
            file=sys.stderr,
            flush=True,
        )
        if return_adversarial:
            adversarial.append(result.adversarial.detach().cpu())
    snrs = [row["snr_db"] for row in rows if row["snr_db"] is not None]
    record = {
        "method": method,
        "clips": rows,
        "success": sum(row["success"] for row in rows) / len(rows),
        "snr_db": round(sum(snrs) / len(snrs), 4) if snrs else None,
        "seconds_per_clip": round(sum(row["seconds"] for row in rows) / len(rows), 4),
        "settings": {**used, "seed": seed},
    }
    return (record, torch.stack(adversarial)) if return_adversarial else record


def clip_seed(seed: int, index: int) -> int:
    """The 64-bit seed of clip ``index``'s generator: well mixed from (seed, index), distinct per clip."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0])


def _settings(method: str, attack: Callable[..., AttackResult], settings: dict[str, Any]) -> dict[str, Any]:
    """The attack's keyword settings with defaults filled in; unknown or missing ones stop with one line."""
    params = {
        name: p.default
        for name, p in inspect.signature(attack).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "generator"
    }
    unknown = sorted(set(settings) - set(params))
    if unknown:
        raise ConfigError(f"{method} attack: unknown settings {', '.join(unknown)} (known: {', '.join(params)})")
    used = {**params, **settings}
    missing = [name for name, value in used.items() if value is inspect.Parameter.empty]
    if missing:
        raise ConfigError(f"{method} attack: missing setting {', '.join(missing)} (its query budget)")
    return {name: list(value) if isinstance(value, tuple) else value for name, value in used.items()}
