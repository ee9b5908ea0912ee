"""Paper 3's report from hand-made evaluations: the paper's numbers beside ours, figures, WAVs, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avsec.core.errors import InputError
from avsec.imgstego import report
from avsec.io.audio import write_audio


def _evaluations(root, *, examples=True):
    rng = np.random.default_rng(0)
    history = [{"epoch": e, "loss": 1.0 / e, "image_mae": 50.0 / e} for e in (1, 2, 3)]
    for k, column in enumerate(report.COLUMNS):
        d = root / column
        (d / "examples").mkdir(parents=True)
        result = {
            "images": 2,
            "front": {"n_fft": 1024, "hop": 31, "frames": 512},
            "image_mae": 10.0 + k,
            "image_ssim": 0.8 + k / 100,
            "carrier_mae": 0.05,
            "carrier_pearson": 0.99,
            "audio_mae": 0.002,
            "audio_snr_db": 17.0,
            "through_audio_image_mae": 30.0,
            "through_audio_image_ssim": 0.5,
            "carrier_rejects": 1,
            "seconds_per_image": 0.5,
            "history": {"model": history, "enhancer": [{**h, "mae": 9.0, "revealed_mae": 10.0} for h in history]},
        }
        (d / "eval.json").write_text(json.dumps(result))
        if examples:
            np.save(d / "examples" / "original.npy", rng.integers(0, 256, (2, 3, 24, 20), dtype=np.uint8))
            np.save(d / "examples" / "revealed.npy", rng.integers(0, 256, (2, 3, 24, 20), dtype=np.uint8))
            np.save(d / "examples" / "carrier.npy", rng.random((2, 24, 20)).astype(np.float16))
            np.save(d / "examples" / "embedded.npy", rng.random((2, 24, 20)).astype(np.float16))
            write_audio(d / "examples" / "carrier_0.wav", np.zeros(100, np.int16), 16000)
    return root


def _inputs(root):
    """The report's inputs as rule report_imgstego passes them: the columns' eval.json files, examples folders."""
    return [root / c / "eval.json" for c in report.COLUMNS], [root / c / "examples" for c in report.COLUMNS]


def test_report_puts_the_papers_numbers_beside_ours(tmp_path):
    out = report.write_report(*_inputs(_evaluations(tmp_path / "r")), tmp_path / "report")
    text = (out / "report.md").read_text()
    assert "| MAE (image, 0–255) | 10.0000 | 13.3901 | 11.0000 | 7.3529 | 12.0000 | 8.1673 |" in text
    assert "| SSIM (image) | 0.8000 | 0.8666 | 0.8100 | 0.9246 | 0.8200 | 0.9486 |" in text
    assert "| – | 0.4999 |" in text and "Carriers rejected (shorter than the 1 s window): 1." in text
    assert (out / "tables/results.tsv").read_text().splitlines()[1].startswith("MAE (image, 0–255)\t10.0000\t13.3901")
    page = (out / "tables/results.html").read_text()  # the table as Snakemake's report shows it, with its note
    assert "<tr><td>SSIM (image)</td><td>0.8000</td><td>0.8666</td><td>0.8100</td>" in page
    assert "<p>† Our copy of the paper lost these row labels" in page
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == {
        "report.md", "tables/results.tsv", "tables/results.html", "figures/images.png", "figures/spectrograms.png",
        "figures/training.png", "audio/carrier_0.wav",
    }  # fmt: skip
    assert (out / "audio/carrier_0.wav").read_bytes() == (tmp_path / "r/ssim/examples/carrier_0.wav").read_bytes()
    again = report.write_report(*_inputs(tmp_path / "r"), tmp_path / "again")
    for name in ("figures/images.png", "figures/spectrograms.png", "figures/training.png", "report.md"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_missing_evaluation_or_examples_fail_in_one_line(tmp_path):
    root = _evaluations(tmp_path / "r", examples=False)
    with pytest.raises(InputError, match="examples: no original.npy"):
        report.write_report(*_inputs(root), tmp_path / "report")
    assert not (tmp_path / "report").exists()
    (root / "ssim" / "eval.json").unlink()
    with pytest.raises(InputError, match=r"ssim/eval.json: evaluation not found"):
        report.write_report(*_inputs(root), tmp_path / "report")


def test_a_column_missing_or_given_twice_fails_in_one_line(tmp_path):
    evaluations, examples = _inputs(_evaluations(tmp_path / "r"))
    with pytest.raises(InputError, match="no evaluation of column\\(s\\) enhanced"):
        report.write_report(evaluations[:2], examples, tmp_path / "report")
    with pytest.raises(InputError, match="a second examples folder of column base"):
        report.write_report(evaluations, [*examples, examples[0]], tmp_path / "report")
    with pytest.raises(InputError, match="not in a column folder"):
        report.write_report([*evaluations, tmp_path / "eval.json"], examples, tmp_path / "report")
    assert not (tmp_path / "report").exists()
