"""The node parameters: defaults, what YAML and key:=value give, and clear errors naming the parameter."""

import re

import pytest

from fuse_ros.observation import Kind, ModalitySpec
from fuse_ros.ros.bridge_core import SimBridgeCore
from fuse_ros.ros.params import BACKENDS, PolicyNodeParams, SimBridgeParams
from fuse_ros.runtime import BACKENDS as RUNTIME_BACKENDS

AUDIO = ModalitySpec("audio", Kind.AUDIO, (16000,), "float32", 10, sample_rate=16000)


def test_values_from_yaml_or_the_command_line_are_coerced():
    params = PolicyNodeParams.from_mapping(
        {"rate_hz": 20, "use_sim_time": "true", "execute_steps": "3", "sensor_topics": "audio=/mic/audio"}
    )
    assert params.rate_hz == 20.0 and params.use_sim_time is True and params.execute_steps == 3
    assert params.sensor_topic(AUDIO) == "/mic/audio"
    framed = PolicyNodeParams(frame_ids="audio=mic_link")
    assert framed.frame_id(AUDIO) == "mic_link" and PolicyNodeParams().frame_id(AUDIO) == "audio_link"
    assert params.sensor_rate_hz(Kind.AUDIO) == 100.0  # 10 ms chunks
    assert SimBridgeParams.from_mapping({"lockstep": False, "seed": 3}).seed == 3
    assert BACKENDS == RUNTIME_BACKENDS


@pytest.mark.parametrize(
    "values, message",
    [
        ({"rate_hz": "fast"}, "PolicyNodeParams.rate_hz must be of type float"),
        ({"ratehz": 10}, "unknown parameters ['ratehz']"),
        ({"backend": "tflite"}, "PolicyNodeParams.backend must be one of"),
        ({"use_sim_time": "maybe"}, "use_sim_time must be of type bool"),
        ({"execute_steps": 1.5}, "execute_steps must be of type int"),
        ({"sensor_topics": "audio:/mic"}, "sensor_topics must read 'name=/topic"),
        ({"frame_ids": "audio=/mic_link"}, "frame_ids must read 'name=frame"),
        ({"camera_hz": 0}, "camera_hz must be > 0"),
        ({"action_topic": "fuse/action"}, "action_topic must be an absolute topic name"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PolicyNodeParams.from_mapping(values)


def test_bridge_task_is_checked_and_checkpoint_names_resolve(tmp_path):
    with pytest.raises(ValueError, match=r"SimBridgeParams\.task must be one of"):
        SimBridgeParams(task="juggling")
    with pytest.raises(ValueError, match=r"SimBridgeParams\.scenario needs task 'driving' and one of"):
        SimBridgeParams(task="button", scenario="lane_keep")
    core = SimBridgeCore(SimBridgeParams(task="driving", scenario="lane_keep"))
    core.reset()
    assert core.env.unwrapped.scenario.task == "lane_keep"
    assert PolicyNodeParams(checkpoint=str(tmp_path)).checkpoint_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        PolicyNodeParams(checkpoint="no_such_model").checkpoint_dir()
