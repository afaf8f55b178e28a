"""The assembled policy: masking is exact, dropping sensors equals masking them, the future and the
readouts stay invisible, and bad batches fail with the modality named."""

import pytest
import torch

from fuse_ros.observation import ObservationError
from fuse_ros.policy import Policy
from tests.policy.conftest import SPEC

ALL = ["image", "tactile", "audio", "lidar", "proprio"]


def outputs(policy, batch, valid=None, task=None, modalities=None):
    """Every head's output at once, for comparisons."""
    out = policy(batch, valid, task, modalities, readouts=("action", "language", "bev"))
    language = out["language"].step(-1)
    return {
        "manipulation": policy.action_heads["manipulation"](out["action"]),
        "driving": policy.action_heads["driving"](out["action"]),
        "embedding": policy.contrastive.embed_readouts(language),
        "description": policy.generation(language),
        "occupancy": policy.occupancy(out["bev"]),
    }


def assert_same(a, b, atol=1e-6):
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)


def test_output_shapes(policy, make_batch, make_task):
    out = outputs(policy, make_batch(batch=3), task=make_task(batch=3))
    assert out["manipulation"].shape == (3, 2, 4, 7) and out["driving"].shape == (3, 2, 4, 2)
    assert out["embedding"].shape == (3, 16) and out["description"].shape == (3, 5, 40)
    assert out["occupancy"].shape == (3, 2, 8, 8)
    assert policy.predict_actions(make_batch(), embodiment="driving").shape == (2, 4, 2)
    assert policy.predict_actions(make_batch(steps=1), embodiment="driving").shape == (2, 4, 2)


@pytest.mark.parametrize("missing", ALL)
def test_an_invalid_modalitys_data_has_no_influence(policy, make_batch, make_task, missing):
    batch, task = make_batch(), make_task()
    valid = {missing: torch.tensor([[True, False], [False, False]])}
    base = outputs(policy, batch, valid, task)
    other = make_batch(seed=1)
    for key in (missing, f"{missing}_count") if missing == "lidar" else (missing,):
        other[key][0, 0] = batch[key][0, 0]  # the one valid reading is unchanged
        batch[key] = other[key]
    if batch[missing].is_floating_point():
        batch[missing][:, 1] = float("nan")  # invalid readings may hold anything
    assert_same(outputs(policy, batch, valid, task), base)


def test_dropping_sensors_equals_masking_them(policy, make_batch, make_task):
    batch, task = make_batch(), make_task()
    kept = ["tactile", "proprio"]
    masked = {name: torch.zeros(2, 2, dtype=torch.bool) for name in ALL if name not in kept}
    dropped = {k: v for k, v in batch.items() if k.split("_")[0] in kept}  # the others are not even given
    assert_same(
        outputs(policy, dropped, None, task, modalities=kept), outputs(policy, batch, masked, task), 1e-5
    )


def test_tokens_are_built_once_and_reused_by_passes_over_sensor_subsets(policy, make_batch, make_task):
    batch, task = make_batch(), make_task()
    tokens = policy.tokenize(batch)
    assert set(tokens) == set(ALL) and tokens["image"].tokens.shape == (2, 2, 16, 32)
    for kept in (["tactile"], ["audio", "lidar"], ALL):
        reused = policy.backbone(tokens, task, ("action", "language"), modalities=kept)
        fresh = policy(batch, None, task, kept, ("action", "language"))
        for r in reused:
            assert torch.equal(reused[r].tokens, fresh[r].tokens)
    with pytest.raises(ObservationError, match=r"no tokens for modalities \['sonar'\]"):
        policy.backbone(tokens, modalities=["sonar"])


def test_future_steps_do_not_change_earlier_outputs(policy, make_batch, make_task):
    batch, task = make_batch(), make_task()
    base = outputs(policy, batch, task=task)
    future = make_batch(seed=2)
    for key in batch:
        batch[key][:, 1] = future[key][:, 1]
    changed = outputs(policy, batch, task=task)
    for key in ("manipulation", "driving", "occupancy"):
        torch.testing.assert_close(changed[key][:, 0], base[key][:, 0], atol=1e-6, rtol=0)
        assert not torch.allclose(changed[key][:, 1], base[key][:, 1], atol=1e-4)


def test_readout_groups_do_not_see_each_other(policy, make_batch, make_task):
    batch, task = make_batch(), make_task()
    alone = policy(batch, None, task, readouts=("action",))["action"].tokens
    together = policy(batch, None, task, readouts=("language", "bev", "action"))["action"].tokens
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)  # float rounding only


def test_the_instruction_matters_and_its_pads_do_not(policy, make_batch, make_task):
    batch, task = make_batch(), make_task()
    base = policy.predict_actions(batch, task=task, embodiment="manipulation")
    task.tokens[~task.mask] = 123.0
    assert torch.allclose(
        policy.predict_actions(batch, task=task, embodiment="manipulation"), base, atol=1e-6
    )
    other = make_task(seed=5)
    assert not torch.allclose(policy.predict_actions(batch, task=other, embodiment="manipulation"), base)


def test_nan_in_a_valid_reading_is_an_error_naming_the_modality(policy, make_batch):
    batch = make_batch()
    batch["audio"][1, 0, 17] = float("nan")
    with pytest.raises(ObservationError, match=r"audio: NaN or Inf in a valid reading \(row 1, step 0\)"):
        policy(batch)
    policy(batch, {"audio": torch.tensor([[True, True], [False, True]])})  # masked: fine


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("tactile"), r"tactile: the batch lacks \['tactile'\]"),
        (lambda b: b.pop("lidar_count"), r"lidar: the batch lacks \['lidar_count'\]"),
        (lambda b: b.update(image=b["image"].float()), r"image: expected \(B, T, \*\(32, 32, 3\)\) uint8"),
        (lambda b: b.update(proprio=b["proprio"][..., :6]), "proprio: expected"),
        (lambda b: b.update(audio=b["audio"][:, None]), "audio: expected"),
    ],
)
def test_bad_batches_name_the_modality(policy, make_batch, change, message):
    batch = make_batch()
    change(batch)
    with pytest.raises(ObservationError, match=message):
        policy(batch)


def test_bad_arguments_are_clear(policy, make_batch, make_task):
    with pytest.raises(ObservationError, match="window=2"):
        policy(make_batch(steps=3))
    with pytest.raises(ObservationError, match="valid mask"):
        policy(make_batch(), {"image": torch.ones(2, 3, dtype=torch.bool)})
    with pytest.raises(ObservationError, match="choose modalities among"):
        policy(make_batch(), modalities=["sonar"])
    with pytest.raises(ValueError, match="unknown readout group 'diffusion'"):
        policy(make_batch(), readouts=("diffusion",))
    with pytest.raises(ValueError, match="task tokens"):
        policy(make_batch(), task=make_task(length=9))
    with pytest.raises(ValueError, match="choose an embodiment"):
        policy.predict_actions(make_batch())


def test_modalities_for_an_instruction_variant(policy):
    assert policy.spec.modalities_for("tactile+audio") == ["tactile", "audio"]
    assert policy.spec.modalities_for("visual") == ["image"]


def test_gradients_reach_only_the_included_tokenizers(policy, make_batch):
    out = policy(make_batch(), modalities=["tactile", "audio"], readouts=("language",))
    policy.contrastive.embed_readouts(out["language"].step(-1)).sum().backward()
    grads = {n: p.grad for n, p in policy.named_parameters()}
    assert grads["tokenizers.tactile.position"] is not None and grads["tokenizers.audio.position"] is not None
    assert grads["tokenizers.image.position"] is None and grads["readouts.action"] is None


@pytest.mark.parametrize("groups", [("visual",), ("tactile", "audio")])
def test_film_starts_as_the_plain_stem_then_lets_the_instruction_shape_only_its_groups_tokens(
    policy, make_config, make_batch, make_task, groups
):
    torch.manual_seed(0)
    filmed = Policy(make_config(film=groups), SPEC).eval()
    conditioned = [s.name for s in SPEC if s.kind.group in groups]
    missing, unexpected = filmed.load_state_dict(policy.state_dict(), strict=False)
    assert missing == [f"tokenizers.{n}.film.{w}" for n in conditioned for w in ("weight", "bias")]
    assert not unexpected
    batch, task, other = make_batch(), make_task(seed=1), make_task(seed=2)
    with torch.no_grad():
        torch.testing.assert_close(  # zero-initialised: a plain checkpoint loads onto it unchanged
            filmed.predict_actions(batch, None, task, "manipulation"),
            policy.predict_actions(batch, None, task, "manipulation"),
        )
        embedded = filmed.embed(batch)
        for name in conditioned:
            filmed.tokenizers[name].film.weight.normal_(0.0, 0.05)
        told, told_otherwise, untold = (filmed.tokenize(batch, task=t) for t in (task, other, None))
        plain = filmed.tokenize(batch)
    for name in ALL:
        torch.testing.assert_close(untold[name].tokens, plain[name].tokens)
        differs = not torch.allclose(told[name].tokens, told_otherwise[name].tokens)
        assert differs == (name in conditioned), name
    with torch.no_grad():  # what the sensors alone say never hears the instruction
        torch.testing.assert_close(filmed.embed(batch), embedded)
        actions = filmed.predict_actions(batch, None, task, "manipulation")
        assert not torch.allclose(actions, policy.predict_actions(batch, None, task, "manipulation"))
