"""Heads and attention pooling: shapes, pad handling, the BEV layout and the generation vocabulary."""

import pytest
import torch

from fuse_ros.nn.attention import AttentionPool
from fuse_ros.nn.heads import (
    ActionHead,
    ContrastiveHead,
    DiffusionActionHead,
    GenerationHead,
    OccupancyHead,
    cosine_schedule,
)
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.train.losses import action_loss

torch.manual_seed(0)
D = 16


def test_attention_pool_ignores_pads_and_survives_an_empty_set():
    pool = AttentionPool(D, heads=2, probes=3, mlp_dim=32)
    x, mask = torch.randn(2, 5, D), torch.tensor([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()
    base = pool(x, mask)
    assert base.shape == (2, 3, D)
    x[~mask] = 1e4
    torch.testing.assert_close(pool(x, mask), base, atol=1e-6, rtol=0)
    assert pool(x, torch.zeros_like(mask)).isfinite().all()


def test_action_head_predicts_a_chunk_per_step():
    head = ActionHead(D, action_dim=2, chunk=4, hidden=32)
    readouts = TokenGroup(torch.randn(3, 2, 1, D), torch.ones(3, 2, 1, dtype=torch.bool))
    assert head(readouts).shape == (3, 2, 4, 2)


def test_contrastive_head_embeds_both_sides_on_the_unit_sphere():
    head = ContrastiveHead(D, text_dim=24, embed_dim=8, heads=2, mlp_dim=32)
    obs = head.embed_readouts(TokenGroup(torch.randn(3, 4, D), torch.ones(3, 4, dtype=torch.bool)))
    text = head.embed_text(TokenGroup(torch.randn(3, 6, 24), torch.ones(3, 6, dtype=torch.bool)))
    assert obs.shape == text.shape == (3, 8)
    torch.testing.assert_close(obs.norm(dim=-1), torch.ones(3))
    assert head.log_logit_scale.requires_grad


def test_occupancy_head_puts_each_readout_on_its_own_patch():
    head = OccupancyHead(D, grid=4, patch=2)  # 2 x 2 readouts, each decoding 2 x 2 cells
    head.net = torch.nn.Identity()  # readout k's 4 values are written as they come
    values = torch.arange(16.0).view(1, 1, 4, 4)  # readout k = 4k .. 4k + 3
    grid = head(TokenGroup(values, torch.ones(1, 1, 4, dtype=torch.bool)))[0, 0]
    assert grid.shape == (4, 4)
    assert grid[:2, :2].flatten().tolist() == [0, 1, 2, 3]  # readout 0: top-left patch
    assert grid[:2, 2:].flatten().tolist() == [4, 5, 6, 7]  # readout 1: top-right
    assert grid[2:, :2].flatten().tolist() == [8, 9, 10, 11]  # readout 2: bottom-left


def test_generation_head_maps_between_classes_and_text_encoder_ids():
    head = GenerationHead(D, vocab_size=4, length=3, heads=2, mlp_dim=32)
    readouts = TokenGroup(torch.randn(2, 5, D), torch.ones(2, 5, dtype=torch.bool))
    assert head(readouts).shape == (2, 3, 4)
    head.set_vocabulary(torch.tensor([2000, 102, 7, 2000, 999]))
    ids, mask = torch.tensor([[7, 2000, 0], [102, 999, 102]]), torch.tensor([[1, 1, 0], [1, 1, 1]]).bool()
    classes = head.classes(ids, mask)
    assert classes.tolist() == [[0, 3, 0], [1, 2, 1]]
    logits = torch.nn.functional.one_hot(classes, 4).float()
    assert torch.equal(torch.where(mask, head.predict(logits), 0), ids)
    with pytest.raises(ValueError, match=r"\[5\]"):
        head.classes(torch.tensor([[5]]), torch.tensor([[True]]))
    with pytest.raises(ValueError, match="3 distinct token ids for a head of 4"):
        head.set_vocabulary([1, 2, 3])


def _fit_two_ways_to_act(head, steps: int = 300) -> None:
    """Every demonstration in the same state: half the chunks all +1, half all -1 (turn now one way or
    the other), as at a lane change the demonstrations disagree about."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(head.parameters(), 3e-3)
    state = TokenGroup(torch.ones(64, 1, 1, D), torch.ones(64, 1, 1, dtype=torch.bool))
    for _ in range(steps):
        actions = (torch.randint(2, (64, 1, 1, 1)) * 2.0 - 1).expand(64, 1, 4, 2)
        loss = action_loss(*head.regression(state, actions))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_diffusion_head_samples_one_of_two_demonstrated_chunks_where_regression_averages_them():
    state = TokenGroup(torch.ones(400, 1, 1, D), torch.ones(400, 1, 1, dtype=torch.bool))
    regression = ActionHead(D, action_dim=2, chunk=4, hidden=64)
    _fit_two_ways_to_act(regression)
    with torch.no_grad():
        assert regression.sample(state).abs().max() < 0.2  # the average of +1 and -1: neither
    diffusion = DiffusionActionHead(D, action_dim=2, chunk=4, hidden=64)
    _fit_two_ways_to_act(diffusion)
    with torch.no_grad():
        chunks = diffusion.sample(state)
    assert chunks.shape == (400, 4, 2)
    assert (chunks.abs() > 0.7).float().mean() > 0.85  # near one of the two, not between
    ways = torch.sign(chunks).flatten(1)
    assert (ways == ways[:, :1]).all(1).float().mean() > 0.9  # a whole chunk goes one way
    assert 0.25 < (ways[:, 0] > 0).float().mean() < 0.75  # both ways are sampled


def test_diffusion_head_denoises_the_same_noise_to_the_same_chunk():
    torch.manual_seed(0)
    head = DiffusionActionHead(D, action_dim=2, chunk=4, hidden=32, steps=8)
    readouts = TokenGroup(torch.randn(3, 2, 1, D), torch.ones(3, 2, 1, dtype=torch.bool))
    noise = torch.randn(3, 4, 2)
    with torch.no_grad():
        first, again = head.sample(readouts, noise), head.sample(readouts, noise)
        other = head.sample(readouts)  # a fresh draw
    assert torch.equal(first, again) and not torch.allclose(first, other)
    assert first.abs().max() <= 5.0  # clipped like Octo's, in standard deviations
    schedule = cosine_schedule(20)  # almost clean at the first step, almost pure noise at the last
    assert schedule[0] > 0.99 and schedule[-1] < 1e-3 and (schedule.diff() < 0).all()
