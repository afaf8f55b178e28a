import numpy as np
import pytest

from fuse_ros.observation import Kind, ModalitySpec, ObservationError, ObservationSpec, Reading

CAMERA = ModalitySpec("image_primary", Kind.IMAGE, (8, 8, 3), "uint8", rate_hz=30)
LIDAR = ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", rate_hz=10, max_len=16)
AUDIO = ModalitySpec("audio", Kind.AUDIO, (160,), "float32", rate_hz=100, sample_rate=16000)
SPEC = ObservationSpec.of(CAMERA, LIDAR, AUDIO)


def test_validate_accepts_matching_arrays():
    assert CAMERA.validate(np.zeros((8, 8, 3), np.uint8)).shape == (8, 8, 3)
    assert LIDAR.validate(np.ones((5, 4), np.float32)).shape == (5, 4)
    assert LIDAR.validate(np.ones((0, 4), np.float32)).shape == (0, 4)


@pytest.mark.parametrize(
    ("spec", "data", "message"),
    [
        (CAMERA, np.zeros((8, 8, 3), np.float32), "image_primary: expected dtype uint8"),
        (CAMERA, np.zeros((8, 9, 3), np.uint8), "image_primary: expected shape"),
        (CAMERA, [[0]], "expected a numpy array"),
        (LIDAR, np.zeros((17, 4), np.float32), "exceed max_len=16"),
        (LIDAR, np.zeros((3, 3), np.float32), "lidar: expected shape (None, 4)"),
        (AUDIO, np.full(160, np.nan, np.float32), "audio: contains NaN or Inf"),
    ],
)
def test_validate_names_modality_and_problem(spec, data, message):
    with pytest.raises(ObservationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec.validate(data)


def test_spec_rejects_bad_declarations():
    with pytest.raises(ObservationError, match="needs max_len"):
        ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", rate_hz=10)
    with pytest.raises(ObservationError, match="needs sample_rate"):
        ModalitySpec("mic", Kind.AUDIO, (100,), "float32", rate_hz=10)
    with pytest.raises(ObservationError, match="duplicate"):
        ObservationSpec.of(CAMERA, CAMERA)
    with pytest.raises(ObservationError, match="unknown modality 'sonar'"):
        SPEC["sonar"]


def test_gym_space_pads_variable_streams_and_round_trips():
    space = SPEC.gym_space()
    assert space["lidar"].shape == (16, 4)
    assert "lidar_count" in space.spaces and "instruction" in space.spaces
    sample = space.sample()
    sample["lidar_count"] = np.int64(3)
    sample["audio"] = np.zeros(160, np.float32)
    sample["lidar"] = np.zeros((16, 4), np.float32)
    obs = SPEC.observation_from_gym(sample, stamp=1.5)
    assert obs.readings["lidar"].data.shape == (3, 4)
    assert obs.valid_mask() == {"image_primary": True, "lidar": True, "audio": True}
    assert obs.stamp == 1.5


def test_missing_modality_becomes_invalid_not_an_error():
    obs = SPEC.observation_from_gym({"image_primary": np.zeros((8, 8, 3), np.uint8)}, stamp=0.0)
    assert obs.valid_mask() == {"image_primary": True, "lidar": False, "audio": False}
    assert obs.readings["lidar"].data.shape == (0, 4)
    SPEC.validate(obs)  # invalid readings are not checked


def test_invalidate_keeps_other_modalities():
    obs = SPEC.observation_from_gym(
        {"image_primary": np.ones((8, 8, 3), np.uint8), "audio": np.ones(160, np.float32)}, 2.0
    )
    obs.invalidate("audio", AUDIO)
    assert not obs.readings["audio"].valid and not obs.readings["audio"].data.any()
    assert obs.readings["image_primary"].data.all()


def test_validate_observation_reports_where():
    obs = SPEC.observation_from_gym({}, stamp=0.0)
    obs.readings["audio"] = Reading(np.zeros(10, np.float32), 0.0)
    with pytest.raises(ObservationError, match=r"topic /mic: audio: expected shape \(160,\)"):
        SPEC.validate(obs, where="topic /mic: ")
