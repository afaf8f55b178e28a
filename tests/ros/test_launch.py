"""The launch files and their parameter YAML: the YAML loads into the nodes' params, the launch files are
valid Python with generate_launch_description, the nodes they choose get what they need, and (where
launch_ros is installed) they build a LaunchDescription."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from fuse_ros import envs
from fuse_ros.data.messages import default_topic
from fuse_ros.ros.executables import load_params_file, parse, remap_topics
from fuse_ros.ros.launching import BRIDGE_NODE, POLICY_NODE, node_specs
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams

LAUNCH = Path(__file__).resolve().parents[2] / "launch"
SETUPS = ("manipulation", "driving")
NODES = {POLICY_NODE: PolicyNodeParams, BRIDGE_NODE: SimBridgeParams}


def load_launch_file(setup: str):
    spec = importlib.util.spec_from_file_location(f"{setup}_launch", LAUNCH / f"{setup}.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("setup", SETUPS)
def test_parameter_yaml_loads_into_the_params_of_both_nodes(setup):
    path = LAUNCH / f"{setup}.yaml"
    assert set(yaml.safe_load(path.read_text())) == {"/**", *NODES}, "a section for an unknown node"
    params = {name: cls.from_mapping(load_params_file(path, name)) for name, cls in NODES.items()}
    assert params[POLICY_NODE].rate_hz > 0 and params[BRIDGE_NODE].task in envs.TASKS
    # the YAML names a topic for every sensor of the simulated task, the one the simulator publishes on
    env = envs.make(params[BRIDGE_NODE].task)
    try:
        sensors = list(env.unwrapped.observation_spec)
    finally:
        env.close()
    for node_params in params.values():
        assert set(node_params.topic_overrides()) == {s.name for s in sensors}
        assert all(node_params.sensor_topic(s) == default_topic(s) for s in sensors)


@pytest.mark.parametrize("setup", SETUPS)
def test_launch_file_exposes_generate_launch_description(setup):
    module = load_launch_file(setup)
    assert callable(module.generate_launch_description)
    # every robot remapping renames a topic the policy node really uses (a stray remap is a silent no-op)
    policy = PolicyNodeParams.from_mapping(load_params_file(LAUNCH / f"{setup}.yaml", POLICY_NODE))
    remapped = remap_topics(policy, list(module.ROBOT_TOPICS.items()))
    sensors = remapped.topic_overrides().values()
    used = {*sensors, *(f"{t}_info" for t in sensors), remapped.action_topic, remapped.instruction_topic}
    assert set(module.ROBOT_TOPICS.values()) <= used


def test_node_specs_follow_the_launch_arguments():
    robot = {"/proprio/joint_states": "/joint_states"}
    bridge, policy = node_specs("manipulation", robot, {}, "/share")
    assert (bridge.name, policy.name) == (BRIDGE_NODE, POLICY_NODE)
    assert policy.lifecycle and "--managed" in policy.arguments and policy.remappings == []
    assert policy.parameters == ["/share/launch/manipulation.yaml", {"use_sim_time": True}]

    (real,) = node_specs("manipulation", robot, {"sim": "false", "backend": "torch", "model": "/m"}, "/s")
    assert real.remappings == [("/proprio/joint_states", "/joint_states")]
    assert real.parameters[1] == {"backend": "torch", "checkpoint": "/m", "use_sim_time": False}

    specs = node_specs("driving", robot, {"transport": "dds", "task": "driving"}, "/s")
    assert not any(s.lifecycle or "--managed" in s.arguments for s in specs)
    assert specs[0].parameters[1] == {"task": "driving"}
    for bad in ({"transport": "zmq"}, {"sim": "maybe"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            node_specs("driving", robot, bad, "/s")


@pytest.mark.parametrize("transport", ["ros", "dds"])
def test_what_launch_passes_parses_in_the_executables(tmp_path, transport):
    """The command lines launch_ros makes from the node specs (arguments, then --ros-args with the node
    name, the parameter file, the overrides as a `/**` file, and the remappings)."""
    module = load_launch_file("manipulation")
    args = {"sim": "false", "transport": transport, "backend": "torch", "params_file": ""}
    (policy,) = node_specs("manipulation", module.ROBOT_TOPICS, args, str(LAUNCH.parent))
    overrides = tmp_path / "launch_params.yaml"
    overrides.write_text(yaml.safe_dump({"/**": {"ros__parameters": policy.parameters[1]}}))
    argv = [*policy.arguments, "--ros-args", "-r", f"__node:={policy.name}"]
    argv += ["--params-file", policy.parameters[0], "--params-file", str(overrides)]
    for source, target in policy.remappings:
        argv += ["-r", f"{source}:={target}"]
    invocation = parse(argv, PolicyNodeParams, "unnamed", "fuse_policy_node")
    assert (invocation.transport, invocation.node_name) == (transport, POLICY_NODE)
    assert invocation.managed == (transport == "ros")
    assert invocation.params.backend == "torch" and invocation.params.reference == "image_primary"
    # over DDS the executable applies the remappings itself; under ROS 2, rclpy does
    expected = "/policy/action" if transport == "dds" else "/fuse/action"
    assert invocation.params.action_topic == expected


def test_launch_description_without_launch_says_what_is_missing():
    if importlib.util.find_spec("launch_ros") is not None:
        pytest.skip("launch_ros is installed")
    with pytest.raises(ImportError, match="source a ROS 2 setup"):
        load_launch_file("manipulation").generate_launch_description()


@pytest.mark.parametrize("setup", SETUPS)
def test_launch_file_builds_a_launch_description(setup):
    pytest.importorskip("launch_ros")
    from launch import LaunchDescription

    description = load_launch_file(setup).generate_launch_description()
    assert isinstance(description, LaunchDescription)
    declared = {a.name for a in description.get_launch_arguments()}
    assert {"backend", "model", "sim", "transport"} <= declared
