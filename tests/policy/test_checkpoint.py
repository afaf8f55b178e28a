"""Checkpoints: exact round trip, fp16 shipping, FuSe's partial load onto new sensors, clear errors."""

import json

import pytest
import torch
from safetensors.torch import save_file

from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec
from fuse_ros.policy import CheckpointError, Policy, load_policy, load_weights, read_config, save_policy
from fuse_ros.policy.checkpoint import CONFIG_FILE, WEIGHTS_FILE


def test_round_trip_gives_bitwise_identical_outputs(policy, make_batch, make_task, tmp_path):
    save_policy(policy, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    loaded = load_policy(tmp_path)
    assert loaded.config == policy.config and loaded.spec == policy.spec
    batch, task = make_batch(), make_task()
    for readout in ("action", "language", "bev"):
        a = policy(batch, task=task, readouts=(readout,))[readout].tokens
        b = loaded(batch, task=task, readouts=(readout,))[readout].tokens
        assert torch.equal(a, b)


def test_fp16_checkpoint_loads_into_fp32(policy, make_batch, tmp_path):
    save_policy(policy, tmp_path, dtype=torch.float16)
    loaded = load_policy(tmp_path)
    assert loaded.transformer.step_embedding.dtype == torch.float32
    assert loaded.generation.token_ids.dtype == torch.int64  # integer buffers keep their type
    batch = make_batch()
    a = policy.predict_actions(batch, embodiment="driving")
    torch.testing.assert_close(loaded.predict_actions(batch, embodiment="driving"), a, atol=2e-2, rtol=0)


def test_partial_load_onto_new_sensors_reports_what_happened(spec, make_config, tmp_path):
    pretrained_spec = ObservationSpec.of(
        spec["image"], spec["proprio"], ModalitySpec("wrist", Kind.IMAGE, (16, 16, 3), "uint8", 5.0)
    )
    pretrained = Policy(make_config(action_dims={"manipulation": 7}), pretrained_spec)
    save_policy(pretrained, tmp_path)
    bigger_proprio = ModalitySpec("proprio", Kind.PROPRIO, (9,), "float32", 5.0)
    new_spec = ObservationSpec.of(spec["image"], bigger_proprio, spec["tactile"], spec["audio"])
    fused = Policy(make_config(), new_spec)
    report = load_weights(fused, tmp_path, strict=False)

    assert "transformer.blocks.0.attn.qkv.weight" in report.loaded
    assert "tokenizers.image.stem.0.0.weight" in report.loaded
    assert "action_heads.manipulation.net.1.weight" in report.loaded
    assert any(n.startswith("tokenizers.tactile.") for n in report.new)
    assert any(n.startswith("action_heads.driving.") for n in report.new)
    assert any(n.startswith("tokenizers.wrist.") for n in report.dropped)
    assert report.mismatched == ["tokenizers.proprio.proj.weight: checkpoint (32, 7), model (32, 9)"]
    state = pretrained.state_dict()
    for name, value in fused.state_dict().items():
        if name in report.loaded:
            assert torch.equal(value, state[name]), name
    text = str(report)
    assert f"loaded {len(report.loaded)} tensors from {tmp_path}" in text
    assert "tokenizers.tactile (" in text and "tokenizers.wrist (" in text and "proprio.proj.weight" in text


def test_partial_load_keeps_the_generation_rows_of_the_words_both_vocabularies_share(
    policy, make_config, spec, tmp_path
):
    vocab_size = policy.config.vocab_size
    policy.generation.set_vocabulary(torch.arange(vocab_size) * 2)  # even token ids
    save_policy(policy, tmp_path)
    torch.manual_seed(1)
    fused = Policy(make_config(), spec)
    fused.generation.set_vocabulary(torch.arange(vocab_size) + vocab_size)  # shares the upper half
    fresh = fused.generation.logits.weight.detach().clone()
    report = load_weights(fused, tmp_path, strict=False)

    assert report.words == (vocab_size // 2, vocab_size)
    assert f"generation vocabulary: {vocab_size // 2} of {vocab_size} words" in str(report)
    assert torch.equal(fused.generation.token_ids, torch.arange(vocab_size) + vocab_size)
    for row, token in enumerate(fused.generation.token_ids.tolist()):
        expected = policy.generation.logits.weight[token // 2] if token % 2 == 0 else fresh[row]
        assert torch.equal(fused.generation.logits.weight[row], expected), token
    same = Policy(make_config(), spec)
    same.generation.set_vocabulary(policy.generation.token_ids)
    assert load_weights(same, tmp_path, strict=False).words is None
    assert torch.equal(same.generation.logits.bias, policy.generation.logits.bias)


def test_strict_load_from_another_config_names_the_differences(policy, spec, make_config, tmp_path):
    save_policy(policy, tmp_path)
    wider = Policy(make_config(width=48), spec)
    with pytest.raises(CheckpointError, match=r"width: checkpoint 32, policy 48.*strict=False"):
        load_weights(wider, tmp_path)
    fewer = Policy(make_config(), ObservationSpec.of(spec["image"], spec["proprio"]))
    with pytest.raises(CheckpointError, match=r"modalities \['audio', 'lidar', 'tactile'\] differ"):
        load_weights(fewer, tmp_path)


def test_weights_that_do_not_fit_their_config_are_an_error(policy, spec, make_config, tmp_path):
    save_policy(policy, tmp_path)
    other = Policy(make_config(depth=3), spec)
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, tmp_path / WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match=r"model.safetensors does not fit its config.json"):
        load_policy(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated download
        lambda data: b"\xff" * 64,  # not safetensors at all
        lambda data: data[:8] + b"{not json" + data[17:],  # broken header
    ],
)
def test_corrupt_weights_are_a_clear_error(policy, tmp_path, damage):
    save_policy(policy, tmp_path)
    path = tmp_path / WEIGHTS_FILE
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=r"model.safetensors: not a readable safetensors file"):
        load_policy(tmp_path)


def test_missing_or_broken_config_is_a_clear_error(policy, tmp_path):
    with pytest.raises(CheckpointError, match=r"config\.json: cannot read"):
        load_policy(tmp_path)
    save_policy(policy, tmp_path)
    config = tmp_path / CONFIG_FILE
    raw = json.loads(config.read_text())
    raw["policy"]["width"] = 33
    config.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match=r"invalid policy config \(PolicyConfig.width must be"):
        read_config(tmp_path)
    config.write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError, match="not a fuse_ros policy config"):
        read_config(tmp_path)
