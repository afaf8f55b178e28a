"""Octo's block-causal attention rules, as a mask and as behaviour of the running transformer."""

import torch

from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.nn.transformer import BlockTransformer, attention_rules

torch.manual_seed(0)
B, T, D = 2, 3, 16


def test_attention_rules_table():
    # task: 2 tokens; per step: 2 observation tokens, readout group "a" (1), readout group "b" (1)
    rules = attention_rules(2, 2, [(2, False), (1, True), (1, True)])
    obs0, a0, b0 = [2, 3], 4, 5  # task tokens are 0 and 1
    obs1, a1, b1 = [6, 7], 8, 9
    assert rules.shape == (10, 10)
    assert rules[0].tolist() == [True, True] + [False] * 8  # task sees task only
    assert rules[obs0[0]].tolist() == [True] * 4 + [False] * 6  # obs_0: task and obs_0
    assert rules[obs1[0]].tolist() == [True] * 4 + [False, False, True, True, False, False]
    assert rules[a1].tolist() == [True] * 4 + [True, False] + [True, True, True, False]  # own group <= t
    assert rules[b0].tolist() == [True] * 4 + [False, True] + [False] * 4
    readouts = [a0, b0, a1, b1]
    for q in range(10):
        for k in readouts:
            if rules[q, k]:
                assert q in readouts, "nothing but readouts attends to readouts"
    assert not rules[a0, b0] and not rules[b1, a1], "readout groups do not see each other"


def transformer() -> BlockTransformer:
    return BlockTransformer(D, depth=2, heads=2, mlp_dim=32, window=T, dropout=0.0).eval()


def groups(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    task = TokenGroup(torch.randn(B, 4, D, generator=g), torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]).bool())
    obs = {
        "obs_a": TokenGroup(torch.randn(B, T, 3, D, generator=g), torch.ones(B, T, 3, dtype=torch.bool)),
        "obs_b": TokenGroup(torch.randn(B, T, 2, D, generator=g), torch.ones(B, T, 2, dtype=torch.bool)),
    }
    readouts = {"readout_x": TokenGroup(torch.randn(B, T, 2, D, generator=g), torch.ones(B, T, 2).bool())}
    return task, obs, readouts


def test_outputs_keep_each_groups_shape():
    out = transformer()(*groups())
    assert set(out) == {"obs_a", "obs_b", "readout_x"}
    assert out["obs_a"].tokens.shape == (B, T, 3, D) and out["readout_x"].tokens.shape == (B, T, 2, D)


def test_readouts_are_invisible_to_the_backbone():
    net = transformer()
    task, obs, readouts = groups()
    base = net(task, obs, readouts)
    readouts["readout_x"].tokens.normal_()
    changed = net(task, obs, readouts)
    for name in obs:
        assert torch.equal(base[name].tokens, changed[name].tokens)
    assert not torch.allclose(base["readout_x"].tokens, changed["readout_x"].tokens)


def test_future_steps_are_invisible():
    net = transformer()
    task, obs, readouts = groups()
    base = net(task, obs, readouts)
    obs["obs_a"].tokens[:, 2] += torch.randn(B, 3, D)  # perturb the last step
    changed = net(task, obs, readouts)
    for name in base:
        torch.testing.assert_close(changed[name].tokens[:, :2], base[name].tokens[:, :2], atol=1e-6, rtol=0)
    assert not torch.allclose(changed["readout_x"].tokens[:, 2], base["readout_x"].tokens[:, 2])


def test_padded_tokens_have_no_influence_even_as_nan():
    net = transformer()
    task, obs, readouts = groups()
    obs["obs_b"].mask[0, :, 1] = False  # a missing token in row 0
    base = net(task, obs, readouts)
    obs["obs_b"].tokens[0, :, 1] = float("nan")
    task.tokens[1, 2:] = 1e6  # the task's pads in row 1
    changed = net(task, obs, readouts)
    for name in ("obs_a", "readout_x"):
        torch.testing.assert_close(changed[name].tokens, base[name].tokens, atol=1e-6, rtol=0)
    assert torch.isfinite(changed["readout_x"].tokens).all()


def test_no_task_and_fully_masked_groups_stay_finite():
    net = transformer()
    _, obs, readouts = groups()
    obs["obs_a"].mask[:] = False
    obs["obs_b"].mask[:] = False
    out = net(None, obs, readouts)
    assert all(torch.isfinite(g.tokens).all() for g in out.values())
