"""Loss values on hand-made cases, and Symile and uniformity against naive loops."""

import itertools
import math

import pytest
import torch

from fuse_ros.train.losses import (
    action_loss,
    alignment,
    binary_loss,
    clip_loss,
    generation_loss,
    logit_scale,
    modality_gap,
    symile_loss,
    token_accuracy,
    uniformity,
)

E1, E2, E3 = torch.eye(3)


def log(x: float) -> torch.Tensor:
    return torch.tensor(math.log(x))


def test_action_loss_counts_only_masked_in_entries():
    pred = torch.zeros(1, 2, 4, 2)
    target = torch.ones(1, 2, 4, 2)
    target[0, 1] = float("nan")  # an invalid step may hold anything
    mask = torch.tensor([[True, False]])
    assert action_loss(pred, target, mask).item() == 1.0
    target[0, 0, 0] = 3.0  # one chunk entry: errors (3, 3) instead of (1, 1)
    assert action_loss(pred, target, mask, kind="l1").item() == pytest.approx((2 * 3 + 6 * 1) / 8)
    assert action_loss(pred, target, mask).item() == pytest.approx((2 * 9 + 6 * 1) / 8)
    chunk_mask = torch.tensor([[[False, True, True, True], [False] * 4]])
    assert action_loss(pred, target, chunk_mask).item() == 1.0
    with pytest.raises(ValueError, match="'mse' or 'l1'"):
        action_loss(pred, target, kind="huber")


def test_clip_loss_of_aligned_orthogonal_embeddings_at_high_scale_is_zero():
    x = torch.eye(4)
    assert clip_loss(x, x.clone(), log(100.0)).item() < 1e-6


def test_clip_loss_by_hand():
    a = torch.stack([E1, E2])
    s = 2.0  # logits [[s, 0], [0, s]]: each row's cross-entropy is log(1 + e^-s)
    assert clip_loss(a, 5 * a, log(s)).item() == pytest.approx(math.log1p(math.exp(-s)), rel=1e-6)
    swapped = torch.stack([E2, E1])  # the right partner now scores 0, the wrong one s
    assert clip_loss(a, swapped, log(s)).item() == pytest.approx(math.log1p(math.exp(s)), rel=1e-6)


def test_clip_temperature_is_clamped_and_learnable():
    a, b = torch.randn(5, 8), torch.randn(5, 8)
    assert logit_scale(log(1000.0)).item() == pytest.approx(100.0)
    assert clip_loss(a, b, log(1000.0)).item() == pytest.approx(clip_loss(a, b, log(100.0)).item())
    scale = log(10.0).requires_grad_()
    clip_loss(a, b, scale).backward()
    assert scale.grad is not None and scale.grad != 0


def test_clip_duplicates_can_both_count_as_matches():
    a = torch.stack([E1, E1])  # the same instruction twice in a batch
    same = torch.ones(2, 2, dtype=torch.bool)
    assert clip_loss(a, a, log(50.0), positives=same).item() == pytest.approx(math.log(2), rel=1e-6)
    assert clip_loss(torch.eye(2), torch.eye(2), log(50.0), positives=same).item() > 1.0


def test_symile_by_hand():
    x = torch.stack([E1, E2])
    s = 3.0  # each anchor row: one triple with MIP 1 (its own), three with MIP 0
    expected = math.log(math.exp(s) + 3) - s
    assert symile_loss([x, x, x], log(s)).item() == pytest.approx(expected, rel=1e-6)


def naive_symile(embeddings, scale):
    units = [torch.nn.functional.normalize(e, dim=-1) for e in embeddings]
    M, B = len(units), len(units[0])
    total = 0.0
    for anchor in range(M):
        others = [u for m, u in enumerate(units) if m != anchor]
        for i in range(B):
            scores = {}
            for rows in itertools.product(range(B), repeat=M - 1):
                product = units[anchor][i].clone()
                for u, r in zip(others, rows, strict=True):
                    product = product * u[r]
                scores[rows] = scale * product.sum().item()
            log_norm = math.log(sum(math.exp(v) for v in scores.values()))
            total += log_norm - scores[(i,) * (M - 1)]
    return total / (M * B)


@pytest.mark.parametrize("modalities", [3, 4])
def test_symile_matches_a_naive_loop(modalities):
    g = torch.Generator().manual_seed(modalities)
    embeddings = [torch.randn(3, 5, generator=g) for _ in range(modalities)]
    expected = naive_symile(embeddings, 7.0)
    assert symile_loss(embeddings, log(7.0)).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="3 or more"):
        symile_loss(embeddings[:2], log(7.0))


def test_uniformity_and_alignment_by_hand():
    pair = torch.stack([E1, E2])  # squared distance 2: log exp(-2 * 2)
    assert uniformity(pair).item() == pytest.approx(-4.0)
    three = torch.stack([E1, E2, -E1])  # squared distances 2, 4, 2
    assert uniformity(three).item() == pytest.approx(math.log((2 * math.exp(-4) + math.exp(-8)) / 3))
    assert uniformity(torch.stack([E1, 3 * E1])).item() == pytest.approx(0.0, abs=1e-6)  # normalised
    assert alignment(torch.stack([E1, E2]), torch.stack([E1, E3])).item() == pytest.approx(1.0)
    assert alignment(pair, 2 * pair).item() == pytest.approx(0.0)
    assert modality_gap(torch.stack([E1, E1]), torch.stack([E2, E2])).item() == pytest.approx(math.sqrt(2))


def test_generation_loss_and_accuracy_count_only_real_tokens():
    vocab = 5
    logits = torch.zeros(1, 3, vocab)
    logits[0, 0, 2] = 100.0  # confident and right
    targets, mask = torch.tensor([[2, 4, 0]]), torch.tensor([[True, True, False]])
    expected = (0.0 + math.log(vocab)) / 2  # second slot: uniform over the vocabulary
    assert generation_loss(logits, targets, mask).item() == pytest.approx(expected, abs=1e-6)
    assert token_accuracy(logits, targets, mask).item() == 0.5
    assert generation_loss(logits, targets, torch.zeros_like(mask)).item() == 0.0  # nothing to learn


def test_binary_loss():
    logits = torch.zeros(1, 2, 4, 4)
    target = torch.ones(1, 2, 4, 4)
    assert binary_loss(logits, target).item() == pytest.approx(math.log(2))
    logits[0, 1] = -50.0  # masked-out step
    assert binary_loss(logits, target, torch.tensor([[True, False]])).item() == pytest.approx(math.log(2))
