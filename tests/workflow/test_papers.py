"""One paper at a time at paper scale: each paper's target plans its jobs with only its own corpora present, `all`
names a missing corpus and the papers that need it, and `papers:` in config.yaml narrows `all`; DVC's report stage
of a paper depends on that paper's corpora only."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import VENV_ENV, copy_workflow, tool

CORPORA = {  # the corpora each paper reads, as the papers say
    "stego": {"timit", "librispeech"},
    "advgan": {"speech_commands", "gtzan"},
    "imgstego": {"timit", "voc"},
    "avdetect": {"grid", "lrw"},
}
DIRS = {  # config.yaml's scales.paper.corpora folder names
    "timit": "TIMIT",
    "librispeech": "LibriSpeech",
    "gtzan": "GTZAN",
    "speech_commands": "speech_commands_v0.02",
    "grid": "GRID",
    "lrw": "LRW",
    "voc": "VOC2012",
}


def only(tmp_path, corpora):
    """A paper-scale copy of the workflow where only ``corpora`` exist."""
    workdir = copy_workflow(tmp_path / "wf", scale="paper", corpora_root=tmp_path / "corpora")
    for corpus, name in DIRS.items():
        if corpus not in corpora:
            shutil.rmtree(tmp_path / "corpora" / name)
    return workdir


def dry_run(workdir, *args):
    return subprocess.run([tool("snakemake"), "-n", *args], cwd=workdir, capture_output=True, text=True, env=VENV_ENV)


def planned(out) -> tuple[dict[str, int], set[str]]:
    """{rule: jobs} of a dry run and the corpora its jobs prepare."""
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = out.stdout[out.stdout.index("Job stats:") :]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}
    return counts, set(re.findall(r"results/(?:prep|av)/(\w+)", out.stdout))


@pytest.mark.parametrize("paper", sorted(CORPORA))
def test_each_paper_runs_with_only_its_corpora(tmp_path, paper):
    workdir = only(tmp_path, CORPORA[paper])
    counts, corpora = planned(dry_run(workdir, paper))
    assert corpora == CORPORA[paper]
    assert counts[f"report_{paper}"] == 1
    if paper == "advgan":  # 90 generators per victim (paper 2, one per source-target pair), each evaluated
        assert counts["train_generator"] == counts["evaluate_generator"] == 180
        assert counts["train_victim"] == 2
    if paper == "avdetect":  # both corpora partitioned and prepared, nothing of the audio-only papers
        assert counts["gather_av"] == 2 and "prepare_corpus" not in counts

    from dvc.repo import Repo

    with Repo(str(workdir)) as repo:
        graph = repo.index.graph
        report = next(s for s in repo.index.stages if s.name == f"report_{paper}")
        upstream, todo = set(), [report]
        while todo:  # every stage the report depends on (edges point from a stage to the stages it reads)
            for stage in graph.successors(todo.pop()):
                if stage.name not in upstream:
                    upstream.add(stage.name)
                    todo.append(stage)
    touched = {c for c in DIRS if any(re.search(rf"(^|_){c}($|@)", name) for name in upstream)}
    assert touched == CORPORA[paper], upstream


def test_all_names_the_missing_corpus_and_the_papers_that_need_it(tmp_path):
    workdir = only(tmp_path, CORPORA["advgan"])
    out = dry_run(workdir, "all")
    assert out.returncode != 0
    found = re.search(r"scales\.paper\.corpora\.(\w+): \S+ does not exist, and (paper .*? needs? it);", out.stdout)
    assert found, out.stdout[-3000:]
    corpus, papers = found.groups()
    assert corpus not in CORPORA["advgan"]
    named = set(re.findall(r"paper \d \((\w+)\)", papers))
    assert named == {p for p, corpora in CORPORA.items() if corpus in corpora}

    # `papers:` narrows `all` to the papers whose corpora are there: the same jobs as the paper's own target
    narrowed, corpora = planned(dry_run(workdir, "all", "--config", "papers=[advgan]"))
    alone, _ = planned(dry_run(workdir, "advgan"))
    assert corpora == CORPORA["advgan"]
    assert {k: v for k, v in narrowed.items() if k != "all"} == {k: v for k, v in alone.items() if k != "advgan"}
