"""TensorRT readiness: will TensorRT's ONNX parser take this graph? Checked without TensorRT installed.

TensorRT cannot be installed on our build machines (REFERENCE.md section 5), so an engine build on the
target is the first place an unsupported operator would show up. This check runs everywhere instead:
every node (inside local functions and If/Loop/Scan bodies too) must be an operator the parser supports
at the targeted version, no operator may have a data-dependent output shape, every tensor dtype must be
one TensorRT accepts, and the opset must be in the parser's range.

The table follows onnx-tensorrt's `docs/operators.md` for TensorRT 10.0 ("supports operators in the
inclusive range of opset 9 to opset 20"; data types DOUBLE (cast down), FLOAT32, FLOAT16, BFLOAT16,
INT32, INT64, FP8, INT8, INT4, UINT8 and BOOL). Operators it marks N are absent here, e.g. STFT, DFT,
Unique, Compress, the Sequence*, String* and Optional* families, QLinear*, ConvInteger, MatMulInteger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import onnx

TENSORRT_VERSION = "10.0"
OPSET_RANGE = (9, 20)

SUPPORTED_OPS = frozenset(
    """
    Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization
    BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant
    ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace DequantizeLinear Div Dropout
    Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gelu Gemm
    GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization GRU
    HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageScaler InstanceNormalization
    IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool LRN
    LSTM MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish Mod Mul Neg NonMaxSuppression NonZero Not
    OneHot Or Pad ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform
    RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean
    ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RNN RoiAlign Round
    ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice
    Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile TopK
    Transpose Trilu Unsqueeze Upsample Where Xor
    """.split()  # noqa: SIM905 (one table, laid out to compare with the docs)
)

# Parsed, but their output size depends on the data: no static engine shape, no optimisation profile.
DATA_DEPENDENT_SHAPES = frozenset({"NonZero", "NonMaxSuppression", "Unique", "Compress"})

ACCEPTED_DTYPES = frozenset(
    onnx.TensorProto.DataType.Value(name)
    for name in (
        "FLOAT",
        "FLOAT16",
        "BFLOAT16",
        "INT32",
        "INT64",
        "INT8",
        "UINT8",
        "BOOL",
        "FLOAT8E4M3FN",
        "INT4",
    )
)


class ReadinessError(ValueError):
    """The graph would not build in TensorRT; the message is the full report."""


@dataclass
class Readiness:
    """What the check found: `problems` empty means ready."""

    model: str
    nodes: int = 0
    op_counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems

    def report(self) -> str:
        verdict = "READY" if self.ready else f"NOT READY ({len(self.problems)} problems)"
        ops = ", ".join(f"{op} {n}" for op, n in sorted(self.op_counts.items()))
        lines = [
            f"TensorRT {TENSORRT_VERSION} readiness of {self.model}: {verdict}",
            f"  {self.nodes} nodes, {len(self.op_counts)} operator types: {ops}",
        ]
        return "\n".join(lines + [f"  PROBLEM: {p}" for p in self.problems])


def _dtype_name(dtype: int) -> str:
    return onnx.TensorProto.DataType.Name(dtype)


class _Checker:
    def __init__(self, model: onnx.ModelProto, result: Readiness):
        self.functions = {(f.domain, f.name): f for f in model.functions}
        self.result = result

    def graph(self, graph: onnx.GraphProto, where: str) -> None:
        for value in [*graph.input, *graph.output, *graph.value_info]:
            dtype = value.type.tensor_type.elem_type
            if not value.type.HasField("tensor_type"):
                self.result.problems.append(
                    f"{where}: {value.name!r} is not a tensor (sequence/map/optional)"
                )
            elif dtype and dtype not in ACCEPTED_DTYPES:
                self.result.problems.append(f"{where}: tensor {value.name!r} has dtype {_dtype_name(dtype)}")
        for tensor in graph.initializer:
            if tensor.data_type not in ACCEPTED_DTYPES:
                self.result.problems.append(
                    f"{where}: initializer {tensor.name!r} is {_dtype_name(tensor.data_type)}"
                )
        self.nodes(graph.node, where)

    def nodes(self, nodes, where: str) -> None:
        for node in nodes:
            at = f"{where}/{node.name or node.op_type}"
            function = self.functions.get((node.domain, node.op_type))
            if function is not None:  # a local function: TensorRT inlines it, so check its body
                self.nodes(function.node, f"{at}[function {node.op_type}]")
                continue
            self.result.nodes += 1
            self.result.op_counts[node.op_type] = self.result.op_counts.get(node.op_type, 0) + 1
            if node.domain not in ("", "ai.onnx"):
                self.result.problems.append(
                    f"{at}: operator {node.domain}::{node.op_type} is not standard ONNX"
                )
            elif node.op_type not in SUPPORTED_OPS:
                self.result.problems.append(
                    f"{at}: operator {node.op_type} is not supported by TensorRT {TENSORRT_VERSION}'s parser"
                )
            if node.op_type in DATA_DEPENDENT_SHAPES:
                self.result.problems.append(f"{at}: {node.op_type} has a data-dependent output shape")
            for attribute in node.attribute:
                if attribute.name == "to" and node.op_type == "Cast" and attribute.i not in ACCEPTED_DTYPES:
                    self.result.problems.append(f"{at}: casts to {_dtype_name(attribute.i)}")
                if (
                    attribute.type == onnx.AttributeProto.TENSOR
                    and attribute.t.data_type not in ACCEPTED_DTYPES
                ):
                    self.result.problems.append(
                        f"{at}: constant of dtype {_dtype_name(attribute.t.data_type)}"
                    )
                for sub in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
                    self.graph(sub, f"{at}.{attribute.name}")


def check_readiness(model: str | Path | onnx.ModelProto) -> Readiness:
    """Check a model (a path or a loaded ModelProto) and return what was found; see `require_ready`."""
    name = str(model) if not isinstance(model, onnx.ModelProto) else (model.graph.name or "<model>")
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    result = Readiness(name)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    low, high = OPSET_RANGE
    if opset is None or not low <= opset <= high:
        result.problems.append(f"opset {opset} is outside TensorRT {TENSORRT_VERSION}'s range {low}-{high}")
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # an inconsistent graph is itself a finding
        result.problems.append(f"shape inference failed: {e}")
    inputs = {d.dim_param for v in model.graph.input for d in v.type.tensor_type.shape.dim if d.dim_param}
    for output in model.graph.output:
        unknown = [
            d.dim_param or "?"
            for d in output.type.tensor_type.shape.dim
            if not d.dim_value and d.dim_param not in inputs
        ]
        if unknown:
            result.problems.append(
                f"output {output.name!r} has dims {unknown} not derived from the input shapes"
            )
    _Checker(model, result).graph(model.graph, "graph")
    return result


def require_ready(model: str | Path | onnx.ModelProto) -> Readiness:
    """Print the report; raise ReadinessError with it when the graph is not ready."""
    result = check_readiness(model)
    print(result.report())
    if not result.ready:
        raise ReadinessError(result.report())
    return result
