"""Export of the inference graph to ONNX (+ manifest), parity against PyTorch, TensorRT readiness and
engines. Import the submodules: `fuse_ros.export.onnx`, `.parity`, `.readiness`, `.tensorrt`."""
