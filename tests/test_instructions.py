import numpy as np
import pytest

from fuse_ros.instructions import Instructions, combinations, variant_names


def test_variant_names_follow_fuse_schema():
    names = variant_names(["visual", "tactile", "audio"])
    assert len(names) == 9
    assert names[:2] == ["simple", "empty"]
    assert "visual+tactile+audio" in names and "tactile+audio" in names
    assert combinations(["visual", "lidar"]) == ["visual", "lidar", "visual+lidar"]


def make() -> Instructions:
    return Instructions(
        variants={
            "simple": ("press the red button",),
            "empty": (),
            "audio": ("press the button that chimes high", "push the high-chime button"),
            "tactile": (),
        },
        descriptions={"audio": "a high chime"},
    )


def test_sampling_draws_only_valid_variants():
    inst = make()
    assert inst.valid == {"simple": True, "empty": True, "audio": True, "tactile": False}
    rng = np.random.default_rng(0)
    drawn = {inst.sample(rng) for _ in range(200)}
    assert drawn == {
        "press the red button",
        "",
        "press the button that chimes high",
        "push the high-chime button",
    }
    with pytest.raises(ValueError, match="'tactile' is not valid"):
        inst.sample(rng, "tactile")


def test_json_round_trip_and_simple_required():
    inst = make()
    assert Instructions.from_json(inst.to_json()) == inst
    with pytest.raises(ValueError, match="simple"):
        Instructions({"simple": ()}, {})
