"""The TensorRT readiness check passes on our exported graphs and fails loudly, naming the node and the
reason, on graphs built with onnx.helper: an unsupported operator (also inside a function or an If
branch), a data-dependent output shape, a dtype TensorRT does not take, an opset out of range."""

import onnx
import pytest
from onnx import TensorProto, helper

from fuse_ros.export.readiness import ReadinessError, check_readiness, require_ready


def model(nodes, inputs, outputs, opset=20, functions=(), initializers=()):
    graph = helper.make_graph(nodes, "probe", inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("local", 1)]
    return helper.make_model(graph, opset_imports=opsets, functions=list(functions))


def tensor(name, dtype=TensorProto.FLOAT, shape=("batch", 8)):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def test_exported_graphs_are_ready(grasp_export, driving_export, capsys):
    for _, export in (grasp_export, driving_export):
        result = require_ready(export / "model.onnx")
        assert result.ready and result.nodes > 50
    assert "READY" in capsys.readouterr().out


def test_unsupported_operator_fails_with_its_name():
    bad = model(
        [helper.make_node("Det", ["x"], ["y"], name="determinant")],
        [tensor("x", shape=(4, 4))],
        [tensor("y", shape=())],
    )
    with pytest.raises(
        ReadinessError, match=r"graph/determinant: operator Det is not supported by TensorRT 10.0"
    ):
        require_ready(bad)


def test_problems_inside_functions_and_subgraphs_are_found():
    body = helper.make_function(
        "local",
        "Spectrum",
        ["x"],
        ["y"],
        [helper.make_node("DFT", ["x"], ["y"])],
        [helper.make_opsetid("", 20)],
    )
    branch = helper.make_graph(
        [helper.make_node("Unique", ["x"], ["u"])], "then", [], [tensor("u", shape=("n",))]
    )
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["v"])], "else", [], [tensor("v")])
    nodes = [
        helper.make_node("Spectrum", ["x"], ["s"], domain="local", name="spectrum"),
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Cast", ["total"], ["flag"], to=TensorProto.BOOL),
        helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=other, name="branch"),
    ]
    result = check_readiness(
        model(nodes, [tensor("x")], [tensor("y", shape=("n",)), tensor("s")], functions=[body])
    )
    text = "\n".join(result.problems)
    assert "spectrum[function Spectrum]/DFT: operator DFT is not supported" in text
    assert "branch.then_branch/Unique: operator Unique is not supported" in text
    assert "Unique has a data-dependent output shape" in text


def test_data_dependent_shapes_dtypes_and_opset_are_reported():
    nodes = [
        helper.make_node("NonZero", ["x"], ["idx"]),
        helper.make_node("Cast", ["x"], ["wide"], to=TensorProto.DOUBLE),
    ]
    result = check_readiness(
        model(
            nodes,
            [tensor("x")],
            [tensor("idx", TensorProto.INT64, (2, "nz")), tensor("wide", TensorProto.DOUBLE)],
            opset=21,
        )
    )
    text = "\n".join(result.problems)
    assert "NonZero has a data-dependent output shape" in text
    assert "output 'idx' has dims ['nz'] not derived from the input shapes" in text
    assert "casts to DOUBLE" in text and "tensor 'wide' has dtype DOUBLE" in text
    assert "opset 21 is outside TensorRT 10.0's range 9-20" in text
    assert not result.ready and "NOT READY" in result.report()


def test_a_model_path_is_loaded(tmp_path):
    path = tmp_path / "ok.onnx"
    onnx.save(model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x")], [tensor("y")]), path)
    assert check_readiness(path).ready
