"""PolicyConfig: presets, validation messages that name the field, JSON round trip."""

import json

import pytest

from fuse_ros.policy import PRESETS, Policy, PolicyConfig
from fuse_ros.policy.config import TRAINING_ONLY


def test_tiny_is_the_default_and_small_is_octo_small():
    assert PolicyConfig() == PolicyConfig.preset("tiny")
    tiny, small = PolicyConfig(), PolicyConfig.preset("small")
    assert (tiny.width, tiny.depth, tiny.heads) == (128, 4, 4)
    assert (small.width, small.depth, small.heads, small.mlp_dim) == (384, 12, 6, 1536)
    assert tiny.window >= 2 and tiny.action_chunk >= 4
    assert set(PRESETS) == {"tiny", "small"}


def test_small_backbone_has_octo_smalls_size():
    from fuse_ros.nn.transformer import BlockTransformer

    c = PolicyConfig.preset("small")
    backbone = BlockTransformer(c.width, c.depth, c.heads, c.mlp_dim, c.window, c.dropout)
    assert 20e6 < sum(p.numel() for p in backbone.parameters()) < 23e6  # Octo-small: 27M with stems


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"width": 130}, "width"),  # not divisible by 4 heads
        ({"depth": 0}, "depth"),
        ({"window": 1}, "window"),
        ({"action_chunk": 2}, "action_chunk"),
        ({"action_loss": "huber"}, "action_loss"),
        ({"action_head": "flow"}, "action_head"),
        ({"diffusion_steps": 0}, "diffusion_steps"),
        ({"action_dims": {}}, "action_dims"),
        ({"action_dims": {"arm": 0}}, "action_dims"),
        ({"dropout": 1.0}, "dropout"),
        ({"image_channels": ()}, "image_channels"),
        ({"bev_grid": 10, "bev_patch": 4}, "bev_grid"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"film": ("lidar",)}, "film"),  # the lidar's pillar encoder has no FiLM
    ],
)
def test_invalid_fields_are_named(overrides, field):
    with pytest.raises(ValueError, match=rf"PolicyConfig\.{field} must be"):
        PolicyConfig(**overrides)


def test_json_round_trip_and_unknown_fields():
    small = PolicyConfig.preset("small", action_dims={"manipulation": 7, "driving": 2}, bev_grid=16)
    assert PolicyConfig.from_dict(json.loads(json.dumps(small.to_dict()))) == small
    with pytest.raises(ValueError, match=r"unknown fields \['widht'\]"):
        PolicyConfig.from_dict({"widht": 3})
    with pytest.raises(ValueError, match="unknown policy preset 'huge'"):
        PolicyConfig.preset("huge")


def test_configs_saved_before_a_field_existed_keep_their_architecture():
    assert PolicyConfig().audio_bands > 1 and PolicyConfig.from_dict({}).audio_bands == 1


def test_film_of_the_first_version_reads_as_cameras_only():
    assert PolicyConfig(film=True).film == ("visual",) and PolicyConfig(film=False).film == ()
    assert PolicyConfig.from_dict({"film": ["audio", "tactile"]}).film == ("audio", "tactile")


def test_architecture_diff_ignores_training_only_fields():
    base = PolicyConfig()
    assert base.architecture_diff(PolicyConfig(dropout=0.1, action_loss="l1")) == {}
    assert base.architecture_diff(PolicyConfig(width=256)) == {"width": (128, 256)}
    assert "dropout" in TRAINING_ONLY and "width" not in TRAINING_ONLY


def test_tiny_policy_builds_with_one_head_per_embodiment():
    from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

    spec = ObservationSpec.of(ModalitySpec("joints", Kind.PROPRIO, (7,), "float32", 5.0))
    policy = Policy(PolicyConfig(action_dims={"manipulation": 7, "driving": 2}), spec)
    assert set(policy.action_heads) == {"manipulation", "driving"}
    assert policy.occupancy is None and set(policy.readouts) == {"action", "language"}
