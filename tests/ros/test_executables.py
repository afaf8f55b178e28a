"""The node executables' command line: parameter files, key:=value, --ros-args, errors and exit codes."""

import importlib.util

import pytest
import yaml

from fuse_ros.ros.executables import UsageError, load_params_file, parse, policy_node, sim_bridge
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams


def params_file(tmp_path, document, name="params.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_sections_for_the_node_after_wildcards_nested_keys_dotted(tmp_path):
    path = params_file(
        tmp_path,
        {
            "other_node": {"ros__parameters": {"rate_hz": 1.0}},
            "/ns/fuse_policy": {"ros__parameters": {"rate_hz": 7.0}},
            "/**": {"ros__parameters": {"rate_hz": 2.0, "backend": "torch", "a": {"b": 1}}},
        },
    )
    assert load_params_file(path, "fuse_policy", "/ns") == {"rate_hz": 7.0, "backend": "torch", "a.b": 1}
    assert load_params_file(path, "fuse_policy") == {"rate_hz": 2.0, "backend": "torch", "a.b": 1}


def test_later_sources_win(tmp_path):
    path = params_file(tmp_path, {"fuse_policy": {"ros__parameters": {"rate_hz": 5, "backend": "torch"}}})
    ros_file = params_file(tmp_path, {"/**": {"ros__parameters": {"execute_steps": 3}}}, "ros.yaml")
    argv = ["--params-file", path, "rate_hz:=8", "instruction:=press the button"]
    argv += ["--ros-args", "--log-level", "debug", "--params-file", ros_file, "-p", "threads:=2"]
    invocation = parse(argv, PolicyNodeParams, "fuse_policy", "prog")
    p = invocation.params
    assert (p.rate_hz, p.backend, p.instruction, p.execute_steps, p.threads) == (
        8.0,
        "torch",
        "press the button",
        3,
        2,
    )
    assert (invocation.transport, invocation.managed, invocation.node_name) == ("ros", False, "fuse_policy")


def test_node_name_namespace_and_node_specific_ros_arguments():
    argv = [
        "--ros-args",
        "-r",
        "__node:=bridge",
        "-r",
        "__ns:=/sim",
        "-p",
        "bridge:seed:=4",
        "-p",
        "x:seed:=9",
    ]
    invocation = parse(argv, SimBridgeParams, "fuse_sim_bridge", "prog")
    assert (invocation.node_name, invocation.namespace, invocation.params.seed) == ("bridge", "/sim", 4)


def test_dds_applies_remappings_to_the_topics_the_node_uses():
    argv = ["--transport", "dds", "sensor_topics:=audio=/mic", "--ros-args"]
    argv += ["-r", "/image_primary/image_raw:=/cam", "-r", "/mic:=/contact_mic", "-r", "/fuse/action:=/cmd"]
    p = parse(argv, PolicyNodeParams, "fuse_policy", "prog").params
    assert p.topic_overrides() == {"audio": "/contact_mic", "image_primary": "/cam"}
    assert (p.action_topic, p.instruction_topic) == ("/cmd", "/fuse/instruction")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rate:=3"], "unknown parameters ['rate']"),
        (["rate_hz:=fast"], "rate_hz must be"),
        (["--ros-args", "-p", "backend:=tvm"], "backend must be one of"),
        (["--transport", "zmq"], "invalid choice: 'zmq'"),
        (["rate_hz=3"], "must read key:=value"),
        (["--params-file", "/no/such.yaml"], "cannot read parameter file /no/such.yaml"),
    ],
)
def test_bad_parameters_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(argv, PolicyNodeParams, "fuse_policy", "prog")


def test_bad_section_is_named(tmp_path):
    path = params_file(tmp_path, {"fuse_sim_bridge": {"parameters": {"seed": 1}}})
    with pytest.raises(UsageError, match="section 'fuse_sim_bridge' needs a 'ros__parameters' mapping"):
        parse(["--params-file", path], SimBridgeParams, "fuse_sim_bridge", "prog")


@pytest.mark.parametrize("main", [policy_node, sim_bridge])
def test_bad_parameter_exits_2_with_one_line(main, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--transport", "dds", "no_such_key:=1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "error:" in error and "no_such_key" in error


def test_ros_transport_without_rclpy_exits_1_naming_it(capsys):
    if importlib.util.find_spec("rclpy") is not None:
        pytest.skip("rclpy is installed")
    with pytest.raises(SystemExit) as exit_info:
        sim_bridge([])
    assert exit_info.value.code == 1
    assert "rclpy is not installed: source a ROS 2 setup or use --transport dds" in capsys.readouterr().err


def test_dds_transport_runs_the_dds_node(monkeypatch, capsys):
    """--transport dds reaches fuse_ros.ros.dds.nodes, which refuses to pick a network by itself."""
    monkeypatch.delenv("CYCLONEDDS_URI")
    with pytest.raises(SystemExit) as exit_info:
        sim_bridge(["--transport", "dds", "episodes:=1"])
    assert exit_info.value.code == 1 and "CYCLONEDDS_URI is not set" in capsys.readouterr().err
