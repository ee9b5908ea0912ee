"""The cost plan: the rehearsed jobs' records (results/rehearsal/<job>.json) projected to the full paper run.

Per job kind: hours of one job on the rehearsal's device (full steps x seconds per step; training steps and
attacked batches only: validation passes, final evaluations and start-up are left out), the rule's SLURM time
limit and the resubmissions the job needs (it resumes from ``<output>.resume`` after SIGUSR1, 5 minutes before
the limit), its peak host memory against ``mem_mb``, and how many such jobs the paper-scale DAG runs; per paper
and in all, the device-hours (GPU-hours when rehearsed on a GPU). The protocol column sets what the paper
preset gives beside what the paper states (``rehearsal.protocol``). Every problem is a flag in the row, never
an exception: a failed job, memory above ``mem_mb``, a job that outruns its limit without a resume path or needs
more resubmissions than the profile's ``retries``, a count short of the paper's.
"""

from __future__ import annotations

import math
from pathlib import Path

from avsec.io.atomic import write_text
from avsec.report.tables import markdown_table

RESUMABLE = {"security_stego", "security_baseline_stego", "attack_av"}  # and every train_* rule (slurm/config.yaml)
WARNING_MINUTES = 5  # --signal=USR1@300: the job saves and leaves 5 minutes before its limit
SHORT = 0.95  # a count below this share of the paper's is flagged
COLUMNS = ("job", "rule", "paper", "device", "jobs", "seconds_per_step", "full_steps", "hours_per_job",
           "device_hours", "runtime_min", "resubmissions", "peak_rss_mb", "mem_mb", "peak_cuda_mb", "protocol",
           "flags")  # fmt: skip


def resumable(rule: str) -> bool:
    return rule.startswith("train_") or rule in RESUMABLE


def protocol_check(record: dict, stated: dict | None) -> tuple[str, str | None]:
    """(the protocol cell, a flag or None): the paper's count beside the preset's, for steps, rows or jobs."""
    if not stated or record.get("status") != "ok":
        return "", None
    measure = stated["measure"]
    ours = {"steps": record["full_steps"], "rows": record["full_rows"], "jobs": record["jobs"]}[measure]
    cell = f"{measure}: {ours} (paper {stated['paper']}: {stated['source']})"
    if ours < SHORT * stated["paper"]:
        return cell, f"{measure} short of the paper: {ours} of {stated['paper']} ({ours / stated['paper']:.0%})"
    return cell, None


def cost_rows(records: list[dict], config: dict, retries: int) -> list[dict]:
    """One row per rehearsed job kind, with its flags."""
    resources = config["scales"]["paper"]["resources"]
    protocol = config["rehearsal"].get("protocol", {})
    rows = []
    for r in records:
        rule = r["rule"]
        runtime, mem = resources["runtime"][rule], resources["mem_mb"][rule]
        row = dict.fromkeys(COLUMNS, "")
        row.update(job=r["job"], rule=rule, paper=r["paper"], device=r["device"], runtime_min=runtime, mem_mb=mem)
        flags = []
        if r.get("status") != "ok":
            flags.append(f"failed: {r.get('error', '?').splitlines()[0]}")
        else:
            hours = r["full_steps"] * r["seconds_per_step"] / 3600
            window = runtime - WARNING_MINUTES
            resubmissions = max(0, math.ceil(hours * 60 / window) - 1)
            row.update(jobs=r["jobs"], seconds_per_step=r["seconds_per_step"], full_steps=r["full_steps"],
                       hours_per_job=round(hours, 2), device_hours=round(hours * r["jobs"], 1),
                       resubmissions=resubmissions, peak_rss_mb=r["peak_rss_mb"],
                       peak_cuda_mb=r["peak_cuda_mb"])  # fmt: skip
            if r["peak_rss_mb"] > mem:
                flags.append(f"peak RSS {r['peak_rss_mb']:.0f} MB > mem_mb {mem}")
            if resubmissions and not resumable(rule):
                flags.append(f"{hours:.1f} h > its {runtime} min limit and it cannot resume")
            elif resubmissions > retries:
                flags.append(f"needs {resubmissions} resubmissions of {runtime} min; the profile's retries: {retries}")
        row["protocol"], shortfall = protocol_check(r, protocol.get(r["job"]))
        flags += [shortfall] if shortfall else []
        row["flags"] = "; ".join(flags)
        rows.append(row)
    return rows


def totals(rows: list[dict]) -> dict[str, float]:
    """Device-hours (GPU-hours on a GPU) per paper and in all (the rows that ran)."""
    out: dict[str, float] = {}
    for row in rows:
        if row["device_hours"] != "":
            out[row["paper"]] = out.get(row["paper"], 0.0) + row["device_hours"]
    out["all"] = sum(out.values())
    return out


def write_cost(records: list[dict], config: dict, out_dir: Path, retries: int) -> list[dict]:
    """results/rehearsal/cost.tsv and cost.md; returns the rows."""
    rows = cost_rows(records, config, retries)
    tsv = "\t".join(COLUMNS) + "\n" + "".join("\t".join(str(row[c]) for c in COLUMNS) + "\n" for row in rows)
    write_text(out_dir / "cost.tsv", tsv)
    devices = sorted({r["device"] for r in records})
    steps = sorted({r["steps"] for r in records})
    header = ["job", "jobs", "s/step", "steps (full run)", "h/job", "h x jobs", "limit min", "resubmit", "RSS MB",
              "mem_mb", "CUDA MB", "protocol", "flags"]  # fmt: skip
    table = [[row["job"], row["jobs"], row["seconds_per_step"], row["full_steps"], row["hours_per_job"],
              row["device_hours"], row["runtime_min"], row["resubmissions"], row["peak_rss_mb"], row["mem_mb"],
              row["peak_cuda_mb"], row["protocol"], row["flags"] or "ok"] for row in rows]  # fmt: skip
    total = totals(rows)
    flagged = [row for row in rows if row["flags"]]
    text = [
        "# Paper-scale cost plan (rehearsal)\n",
        f"Device: {', '.join(devices)}. Each job ran {', '.join(map(str, steps))} steps at the paper preset's "
        "widths and batch sizes on random data of the prepared shapes; the first step is the warm-up, the median "
        "of the others is s/step (attacks: per batch, scaled to the paper's iterations of the job's most costly "
        "setting). Hours count training steps (attacked batches) only: validation, final evaluation and start-up "
        f"are left out. A job resumes after SIGUSR1 {WARNING_MINUTES} min before its limit; `resubmit` is how "
        f"often (the profile allows {retries}).\n",
        markdown_table(header, table),
        f"\nHours on {', '.join(devices)} (jobs x h/job; GPU-hours when the device is a GPU): "
        + ", ".join(f"{paper} {hours:,.1f}" for paper, hours in total.items())
        + ".\n",
        f"\n{len(flagged)} of {len(rows)} job kinds flagged"
        + (": " + ", ".join(row["job"] for row in flagged) + "." if flagged else ".")
        + " The README's paper-scale section explains each kind of flag.\n",
    ]
    write_text(out_dir / "cost.md", "\n".join(text))
    return rows
