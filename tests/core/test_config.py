"""config.yaml: scale presets, schema errors as one line naming the key, flags as DVC renders them."""

from __future__ import annotations

import subprocess

import pytest

from avsec.core.config import (
    check_corpora,
    check_partitions,
    corpus_path,
    flags,
    load_config,
    parse_flags,
    resolve_scale,
    validate,
)
from avsec.core.errors import ConfigError
from conftest import REPO, copy_workflow, tool

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


@pytest.fixture
def config():
    return load_config(REPO / "config.yaml")


def test_shipped_config_is_valid_at_both_scales(config):
    validate(config, SCHEMA)
    assert config["scale"]["name"] == "smoke"
    paper = resolve_scale({**config, "scale": "paper"})
    validate(paper, SCHEMA)
    assert paper["scale"]["name"] == "paper" and paper["scale"]["synthesize"] == {}


def test_timit_hop_is_samples_or_auto(config):
    for hop in (16320, "auto"):
        config["prep"]["timit"]["hop"] = hop
        validate(config, SCHEMA)


def test_speech_commands_words_are_strings_not_yaml_booleans(config):
    words = config["scale"]["prep"]["speech_commands"]["words"]
    assert {"yes", "no", "on", "off"} <= set(words)
    assert all(isinstance(word, str) for word in words)


@pytest.mark.parametrize(
    "edit, key, problem",
    [
        (lambda c: c.update(bogus=1), "(top level)", "unknown key(s) 'bogus'"),
        (lambda c: c.update(papers=["advgan", "speechgan"]), "papers.1", "'speechgan' is not one of"),
        (lambda c: c.update(papers=[]), "papers", "should be non-empty"),
        (lambda c: c["prep"]["gtzan"].update(split_by="speaker"), "prep.gtzan.split_by", "is not one of"),
        (lambda c: c["prep"]["timit"].update(segment="long"), "prep.timit.segment", "is not of type 'integer'"),
        (lambda c: c["prep"]["timit"].update(hop="half"), "prep.timit.hop", "is not valid under any"),
        (lambda c: c["prep"]["timit"].update(hop=0), "prep.timit.hop", "less than the minimum of 1"),
        (lambda c: c["prep"]["timit"].pop("hop"), "prep.timit", "'hop' is a required"),
        (
            lambda c: c["scale"]["prep"]["speech_commands"].update(words=[True, False]),
            "scales.smoke.prep.speech_commands",
            "boolean",
        ),
        (lambda c: c["features"].update({"../x": c["features"]["stego_timit"]}), "features", "not a valid name"),
        (lambda c: c["scale"]["prep"]["voc"].update(count=0), "scales.smoke.prep.voc.count", "minimum"),
        (lambda c: c["advgan"]["victims"].update(resnet={}), "advgan.victims", "unknown key(s) 'resnet'"),
        (
            lambda c: c["scale"]["advgan"]["victims"]["wideresnet"].update(labels=["yes", "all"]),
            "scales.smoke.advgan.victims.wideresnet.labels.1",
            "should not be valid",
        ),
        (
            lambda c: c["scale"]["advgan"]["victims"]["samplecnn"].update(labels=["hip_hop", "jazz"]),
            "scales.smoke.advgan.victims.samplecnn.labels.0",
            "'hip_hop' is not a valid name (letters, digits and '-' only)",
        ),
        (lambda c: c["scale"]["advgan"]["generators"].update(vgg=[]), "scales.smoke.advgan.generators", "vgg"),
        (lambda c: c["advgan"]["generator"].update(loss="hinge"), "advgan.generator.loss", "is not one of"),
        (lambda c: c["scale"]["partitions"].update(lrw=0), "scales.smoke.partitions.lrw", "minimum"),
        (lambda c: c["scale"]["partitions"].pop("grid"), "scales.smoke.partitions", "'grid' is a required"),
        (
            lambda c: c["scale"]["av"].update(grid_split={"split_by": "sentences"}),
            "scales.smoke.av.grid_split",
            "'sentence_fractions' is a required",
        ),
        (
            lambda c: c["scale"]["av"].update(grid_split={"split_by": "clips"}),
            "scales.smoke.av.grid_split.split_by",
            "is not one of",
        ),
    ],
)
def test_invalid_config_is_one_line_naming_the_key(config, edit, key, problem):
    edit(config)
    with pytest.raises(ConfigError) as err:
        validate(config, SCHEMA)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"config.yaml: {key}")
    assert problem in message


def test_unknown_scale_name_is_rejected(config):
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        resolve_scale({**config, "scale": "huge"})


def test_missing_corpus_path_names_the_key_and_the_papers(config, tmp_path):
    paper = resolve_scale({**config, "scale": "paper"})
    check_corpora(paper)  # the user's corpora are asked for one by one, when a requested paper needs them
    with pytest.raises(ConfigError) as err:
        corpus_path(paper, "timit", tmp_path)
    assert str(err.value).startswith(
        "config.yaml: scales.paper.corpora.timit: /data/corpora/TIMIT does not exist, "
        "and paper 1 (stego) and paper 3 (imgstego) need it;"
    )
    with pytest.raises(ConfigError, match=r"corpora\.gtzan: .* and paper 2 \(advgan\) needs it;"):
        corpus_path(paper, "gtzan", tmp_path)
    (tmp_path / "data/corpora/GTZAN").mkdir(parents=True)
    paper["scale"]["corpora"]["gtzan"] = "data/corpora/GTZAN"
    assert corpus_path(paper, "gtzan", tmp_path) == "data/corpora/GTZAN"
    smoke = resolve_scale(config)
    assert corpus_path(smoke, "lrw", tmp_path) == "results/synth/lrw"  # synthesised: made by the workflow
    smoke["scale"]["corpora"]["gtzan"] = "elsewhere/gtzan"
    with pytest.raises(ConfigError, match="gtzan is synthesised, so its path must be 'results/synth/gtzan'"):
        check_corpora(smoke)


def test_partition_ids_must_be_the_range_of_the_count(config):
    for scale in ("smoke", "paper"):
        check_partitions(resolve_scale({**config, "scale": scale}))
    config["scale"]["partitions"]["lrw"] = 3
    with pytest.raises(ConfigError, match=r"scales\.smoke\.partition_ids\.lrw: must be \[0, 1, \.\.\., 2\]"):
        check_partitions(config)


def test_flags_round_trip():
    settings = {"rate": 16384, "fractions": [0.8, 0.1, 0.1], "split_by": "track", "leaky": True, "quiet": False}
    rendered = flags(settings)
    assert rendered == "--rate 16384 --fractions 0.8 0.1 0.1 --split_by track --leaky"
    assert parse_flags(rendered.split()) == {k: v for k, v in settings.items() if v is not False}
    assert flags({}) == ""
    assert flags({"cache": "~/x y"}) == "--cache '~/x y'"  # quoted as DVC quotes it: no ~ expansion
    with pytest.raises(ConfigError, match="given twice"):
        parse_flags(["--a", "1", "--a", "2"])


def test_snakemake_stops_on_a_bad_config_with_one_line(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    text = (workdir / "config.yaml").read_text().replace("split_by: track", "split_by: speaker")
    (workdir / "config.yaml").write_text(text)
    done = subprocess.run([tool("snakemake"), "-n", "all"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode != 0
    assert "error: config.yaml: prep.gtzan.split_by: 'speaker' is not one of ['track', 'clip']" in done.stderr
    assert "Traceback" not in done.stderr
