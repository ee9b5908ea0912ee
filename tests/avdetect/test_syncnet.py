"""Paper 4's SyncNet: the network's streams (syncnet_python's layers, any input size down to 52), offset and
confidence as the paper's §4 and syncnet_python define them, the published weights, the training pairs and the
trained network's separation of in-sync from mismatched audio."""

from __future__ import annotations

import pytest
import torch

from avsec.avdetect.data import load_av
from avsec.avdetect.syncnet import (
    SyncNet,
    load_published,
    load_syncnet,
    mismatched_partners,
    offset_confidence,
    sync_distances,
    sync_pairs,
    sync_scores,
    sync_separation,
)
from avsec.core.errors import InputError


@pytest.mark.parametrize(("size", "last"), [(224, 6), (88, 2), (56, 1)])
def test_syncnet_streams_end_in_one_embedding(size, last):
    model = SyncNet(width=0.125, channels=1, size=size, embed=32).eval()
    assert model.netcnnlip[-3].kernel_size == (1, last, last)
    lips = model.prepare_video(torch.rand(3, 5, 96, 96) * 255)
    assert lips.shape == (3, 1, 5, size, size)
    assert model.forward_lip(lips).shape == (3, 32)
    assert model.forward_aud(torch.randn(3, 1, 13, 20)).shape == (3, 32)


def test_syncnet_rejects_a_too_small_input():
    with pytest.raises(ValueError, match="too small"):
        SyncNet(width=0.125, size=48)


@pytest.mark.parametrize("delay", [-4, 0, 3])
def test_offset_and_confidence_follow_syncnet_python(delay):
    """Video window i matches audio window i + delay; syncnet_python calls that offset −delay."""
    torch.manual_seed(0)
    n = 30
    aud = torch.randn(n, 16)
    lip = torch.stack([aud[i + delay] if 0 <= i + delay < n else torch.randn(16) for i in range(n)])
    dists = sync_distances(lip, aud, vshift=15)
    assert dists.shape == (31,)
    offset, confidence = (x.item() for x in offset_confidence(dists, vshift=15))
    assert offset == -delay
    assert confidence == pytest.approx(float(dists.median() - dists.min()))
    assert confidence > 0.5


def test_published_weights_load_only_when_they_fit(tmp_path):
    full = SyncNet(width=0.125, channels=3, size=224)
    good = tmp_path / "syncnet_v2.model"
    torch.save(full.state_dict(), good)
    fresh = SyncNet(width=0.125, channels=3, size=224)
    load_published(good, fresh)
    for key, value in full.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
    with pytest.raises(InputError, match="not found"):
        load_published(tmp_path / "missing.model", fresh)
    with pytest.raises(InputError, match="does not fit"):
        load_published(good, SyncNet(width=0.25, channels=3, size=224))


def test_syncnet_checkpoint(trained):
    out, _, sync = trained
    assert 0 <= sync["sync_auc"] <= 1 and sync["mismatched_pairs"] == 20
    assert not (out / "syncnet.pt.resume").exists()


def test_sync_pairs_shift_inside_the_clip(av, tiny):
    clips = load_av(av / "mouths", av / "audio", "train")
    clip, start, shift, in_sync = sync_pairs(clips, min_shift=2, vshift=15, seed=0)
    windows = tiny.frames - 4
    assert int(in_sync.sum()) == len(clips) * windows
    negative = in_sync == 0
    assert (shift[negative].abs() >= 2).all() and (shift[in_sync == 1] == 0).all()
    assert ((start + shift) >= 0).all() and ((start + shift) < windows).all()


def test_mismatched_partners_are_a_seeded_sample_of_other_clips():
    drawn = list(mismatched_partners(12, 3, seed=5))
    assert len(drawn) == 12
    for i, partners in enumerate(drawn):
        assert len(set(partners)) == 3 and i not in partners and all(0 <= j < 12 for j in partners)
    assert drawn == list(mismatched_partners(12, 3, seed=5))
    assert drawn != list(mismatched_partners(12, 3, seed=6))
    every = [[j for j in range(5) if j != i] for i in range(5)]
    assert list(mismatched_partners(5, 0, seed=5)) == every == list(mismatched_partners(5, 4, seed=5))


def test_sampled_separation_scores_exactly_the_sampled_pairs(av, trained):
    """Streamed and batched, each sampled pair scores as that clip's video with that other clip's audio alone."""
    out, _, _ = trained
    model, _ = load_syncnet(out / "syncnet.pt")
    test = load_av(av / "mouths", av / "audio", "test")
    video, audio, _ = test.__getitems__(range(len(test)))
    sampled = sync_separation(model, test, per_clip=2, seed=3, batch=2)
    pairs = [(i, j) for i, partners in enumerate(mismatched_partners(len(test), 2, seed=3)) for j in partners]
    one_by_one = [sync_scores(model, video[i : i + 1], audio[j : j + 1])["confidence"][0] for i, j in pairs]
    assert sampled["mismatched_pairs"] == len(pairs) == 2 * len(test)
    assert sampled["mismatched_confidence"] == pytest.approx(sum(one_by_one) / len(pairs), rel=1e-5)
    own = [sync_scores(model, video[i : i + 1], audio[i : i + 1])["confidence"][0] for i in range(len(test))]
    assert sync_scores(model, video, audio)["confidence"] == pytest.approx(own, rel=1e-5)
    assert sampled["in_sync_confidence"] == pytest.approx(sum(own) / len(own), rel=1e-5)
