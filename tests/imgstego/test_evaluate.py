"""Paper 3's evaluation on tiny in-test shards: the metrics JSON and examples of a column with and without the
enhancer, a checkpoint of the wrong kind, and the GPU against the CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from avsec.core.errors import InputError
from avsec.imgstego.evaluate import ImgstegoEvaluation, evaluate, hide_and_reveal
from avsec.imgstego.frontend import Images, load_carriers
from avsec.imgstego.train import load_model


def test_evaluation_with_and_without_the_enhancer(trained, enhancer, timit, voc, tiny, tmp_path):
    model, _ = trained
    result = evaluate(
        model, timit, voc, tmp_path / "eval.json", tmp_path / "ex", ImgstegoEvaluation(images=2, examples=1)
    )
    assert result["variant"] == "ssim" and result["images"] == 2 and result["carrier_rejects"] == 1
    assert 0 <= result["image_mae"] < 255 and -1 <= result["image_ssim"] <= 1
    assert 0 < result["carrier_pearson"] <= 1 and result["carrier_mae"] > 0 and result["seconds_per_image"] > 0
    assert json.loads((tmp_path / "eval.json").read_text())["per_image"] == result["per_image"]
    assert np.load(tmp_path / "ex" / "original.npy").shape == (1, 3, *tiny.shape)
    assert np.load(tmp_path / "ex" / "carrier.npy").shape == (1, *tiny.shape)
    assert sf.info(str(tmp_path / "ex" / "embedded_0.wav")).frames == 3 * 2048  # three carriers, concatenated
    enhanced = evaluate(
        model,
        timit,
        voc,
        tmp_path / "e.json",
        tmp_path / "ex2",
        ImgstegoEvaluation(images=2, examples=1),
        enhancer_ckpt=enhancer[0],
    )
    assert enhanced["variant"] == "enhanced" and enhanced["carrier_mae"] == result["carrier_mae"]


def test_an_enhancer_of_the_wrong_kind_fails_in_one_line(trained, timit, voc, tmp_path):
    model, _ = trained
    with pytest.raises(InputError, match="is a 'imgstego' checkpoint, expected 'imgstego_enhancer'"):
        evaluate(model, timit, voc, tmp_path / "x.json", tmp_path / "x", ImgstegoEvaluation(), enhancer_ckpt=model)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the CPU path is tested above)")
def test_hide_and_reveal_on_the_gpu_matches_the_cpu(trained, timit, voc, tiny):
    model, front, _ = load_model(trained[0])
    pixels = Images(voc, "val", tiny.shape).get([0])[0]
    audio, _ = load_carriers(timit, "test", front)
    with torch.inference_mode():
        cpu = hide_and_reveal(model, front, pixels, audio[:3], torch.device("cpu"))
        gpu = hide_and_reveal(model.cuda(), front, pixels, audio[:3], torch.device("cuda"))
    assert torch.allclose(cpu.embedded, gpu.embedded, atol=1e-3)
    assert np.abs(cpu.revealed.astype(int) - gpu.revealed.astype(int)).max() <= 2
