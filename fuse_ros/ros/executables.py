"""The node executables (`ros2 run fuse_ros fuse_policy_node`, `fuse_sim_bridge`): one command line, two
transports. `--transport ros` (default) runs the rclpy nodes; `--transport dds` runs the same cores over
Cyclone DDS where ROS 2 is not installed.

Parameters come, later ones winning, from the dataclass defaults, `--params-file` YAML in ROS 2's layout
(`<node>: ros__parameters: {...}`, or `/**:`), `key:=value` words, then what ROS 2 tools pass after
`--ros-args` (`--params-file`, `-p key:=value`, `-r __node:=name`, `-r from:=to`). They are read here for
both transports, so a bad value stops either one with a one-line error (exit 2); under ROS 2, rclpy reads
the `--ros-args` again itself and they agree. With DDS, `-r from:=to` renames a topic the node uses.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from fuse_ros.ros.launching import BRIDGE_EXECUTABLE, BRIDGE_NODE, POLICY_EXECUTABLE, POLICY_NODE, TRANSPORTS
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams

ROS_OPTIONS_WITH_VALUE = {"--log-level", "--log-config-file", "-e", "--enclave"}  # ignored here, with value
DEFAULT_SENSOR_TOPIC = re.compile(r"^/(\w+)/(image_raw|audio|points|joint_states)$")  # messages.default_topic


class UsageError(ValueError):
    """A bad command line or parameter; the message names it."""


@dataclass(frozen=True)
class Invocation:
    """What a command line asks for."""

    transport: str
    params: PolicyNodeParams | SimBridgeParams
    node_name: str
    namespace: str
    managed: bool  # a lifecycle manager (ros2 launch) drives the transitions; else the node starts itself


@dataclass
class _RosArgs:
    params_files: list[str]
    params: dict[str, Any]
    remaps: list[tuple[str, str]]
    node_name: str
    namespace: str


def _assignment(word: str, what: str) -> tuple[str | None, str, str]:
    """'[node:]key:=value' -> (node or None, key, value)."""
    key, sep, value = word.partition(":=")
    if not sep or not key:
        raise UsageError(f"{what} must read key:=value, got {word!r}")
    node, _, key = key.rpartition(":")
    return node or None, key, value


def _value(text: str) -> Any:
    """A `key:=value` value read as YAML, as ROS 2 reads it ("10" an int, "true" a bool)."""
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def _split_ros_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Own words, and the words between `--ros-args` and `--` (or the end)."""
    own, ros, inside = [], [], False
    for word in argv:
        if word == "--ros-args":
            inside = True
        elif word == "--" and inside:
            inside = False
        else:
            (ros if inside else own).append(word)
    return own, ros


def _parse_ros_args(words: list[str], node_name: str) -> _RosArgs:
    parsed = _RosArgs([], {}, [], node_name, "")
    options = {
        "--params-file": "params",
        "-p": "param",
        "--param": "param",
        "-r": "remap",
        "--remap": "remap",
    }
    words = list(words)
    while words:
        word = words.pop(0)
        kind = options.get(word)
        if kind is None:
            if word in ROS_OPTIONS_WITH_VALUE and words:
                words.pop(0)
            continue
        if not words:
            raise UsageError(f"--ros-args {word} needs a value")
        value = words.pop(0)
        if kind == "params":
            parsed.params_files.append(value)
            continue
        node, key, target = _assignment(value, f"--ros-args {word}")
        if key in ("__node", "__name"):
            parsed.node_name = target
        elif key == "__ns":
            parsed.namespace = target
        elif node in (None, parsed.node_name):
            if kind == "param":
                parsed.params[key] = _value(target)
            else:
                parsed.remaps.append((key, target))
    return parsed


def load_params_file(path: str | Path, node_name: str, namespace: str = "") -> dict[str, Any]:
    """The parameters a ROS 2 parameter file gives this node: sections `/**`, `<node>`, `/<ns>/<node>`
    (wildcards first, then the node's own); nested keys become dotted names, as in ROS 2."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read parameter file {path}: {error}") from error
    if not isinstance(document, dict):
        raise UsageError(f"parameter file {path}: expected '<node>: ros__parameters: {{...}}' at the top")
    own = {f"/{node_name}", f"/**/{node_name}", f"/{namespace.strip('/')}/{node_name}".replace("//", "/")}
    sections = sorted(
        (key for key in document if "/" + str(key).lstrip("/") in own | {"/**"}),
        key=lambda key: "/" + str(key).lstrip("/") != "/**",
    )
    values: dict[str, Any] = {}
    for key in sections:
        section = document[key]
        if not isinstance(section, dict) or not isinstance(section.get("ros__parameters"), dict):
            raise UsageError(f"parameter file {path}: section {key!r} needs a 'ros__parameters' mapping")
        values |= _flatten(section["ros__parameters"])
    return values


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def remap_topics(params: PolicyNodeParams | SimBridgeParams, remaps: list[tuple[str, str]]):
    """Apply ROS remappings `from:=to` to the topic parameters: a topic parameter whose value is `from`,
    or a sensor whose (default or overridden) topic is `from`, gets `to`. Others are ignored, as in ROS 2."""
    topics = {f.name: getattr(params, f.name) for f in fields(params) if f.name.endswith("_topic")}
    sensors = params.topic_overrides()
    for source, target in remaps:
        topics = {name: target if topic == source else topic for name, topic in topics.items()}
        sensors = {name: target if topic == source else topic for name, topic in sensors.items()}
        default = DEFAULT_SENSOR_TOPIC.match(source)
        if default and default[1] not in sensors:
            sensors[default[1]] = target
    sensor_topics = ",".join(f"{name}={topic}" for name, topic in sensors.items())
    return replace(params, **topics, sensor_topics=sensor_topics)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise UsageError(message)


def parse(argv: Sequence[str], params_type: type, node_name: str, prog: str) -> Invocation:
    """The invocation a command line asks for; raises UsageError naming what is wrong."""
    own, ros = _split_ros_args(argv)
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", choices=TRANSPORTS, default="ros")
    parser.add_argument("--params-file", action="append", default=[], help="ROS 2 parameter YAML")
    parser.add_argument("--managed", action="store_true", help="wait for lifecycle transitions (ros2 launch)")
    parser.add_argument("overrides", nargs="*", metavar="key:=value")
    args = parser.parse_args(own)
    ros_args = _parse_ros_args(ros, node_name)
    values: dict[str, Any] = {}
    for path in args.params_file:
        values |= load_params_file(path, ros_args.node_name, ros_args.namespace)
    for word in args.overrides:
        _, key, value = _assignment(word, "a parameter")
        values[key] = _value(value)
    for path in ros_args.params_files:
        values |= load_params_file(path, ros_args.node_name, ros_args.namespace)
    values |= ros_args.params
    try:
        params = params_type.from_mapping(values)
        if args.transport == "dds":
            params = remap_topics(params, ros_args.remaps)
    except ValueError as error:
        raise UsageError(str(error)) from error
    return Invocation(args.transport, params, ros_args.node_name, ros_args.namespace, args.managed)


def _main(argv: Sequence[str] | None, params_type: type, node_name: str, prog: str, run: Callable) -> None:
    """Parse (bad parameter: exit 2), then `run(invocation, argv)`; a startup error is one line, exit 1."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        invocation = parse(argv, params_type, node_name, prog)
    except UsageError as error:
        _exit(prog, error, 2)
    try:
        run(invocation, [prog, *argv])
    except KeyboardInterrupt:
        pass
    except (ImportError, OSError, ValueError) as error:
        _exit(prog, error, 1)


def _exit(prog: str, error: Exception, code: int) -> None:
    print(f"{prog}: error: {error}", file=sys.stderr)
    sys.exit(code)


def _run_policy_node(invocation: Invocation, argv: list[str]) -> None:
    if invocation.transport == "dds":
        from fuse_ros.ros.dds.nodes import run_policy_node

        run_policy_node(invocation.params, node=invocation.node_name)
    else:
        from fuse_ros.ros.rclpy_nodes import run_policy_node

        run_policy_node(invocation, argv)


def _run_sim_bridge(invocation: Invocation, argv: list[str]) -> None:
    if invocation.transport == "dds":
        from fuse_ros.ros.dds.nodes import run_sim_bridge

        run_sim_bridge(invocation.params)
    else:
        from fuse_ros.ros.rclpy_nodes import run_sim_bridge

        run_sim_bridge(invocation, argv)


def policy_node(argv: Sequence[str] | None = None) -> None:
    """`fuse_policy_node`: the policy node (sensors in; actions, embedding, description, diagnostics out)."""
    _main(argv, PolicyNodeParams, POLICY_NODE, POLICY_EXECUTABLE, _run_policy_node)


def sim_bridge(argv: Sequence[str] | None = None) -> None:
    """`fuse_sim_bridge`: a simulator publishing its sensors and applying the actions it receives."""
    _main(argv, SimBridgeParams, BRIDGE_NODE, BRIDGE_EXECUTABLE, _run_sim_bridge)
