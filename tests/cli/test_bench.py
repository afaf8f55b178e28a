"""fuse-bench end to end: bench.json with model-only and whole-step latency per backend and batch size,
and the plot. (Figures are not asserted: timing belongs to the benchmark, not to the tests.)"""

import json

from test_export import driving_checkpoint, run_cli


def test_bench_writes_latency_per_backend_and_batch(tmp_path):
    checkpoint = driving_checkpoint(tmp_path / "checkpoint")
    out = tmp_path / "bench"
    args = ["iterations=5", "steps=3", "batch_sizes=[1,2]", "language=false", "threads=1"]
    result = run_cli("fuse_ros.cli.bench", f"checkpoint={checkpoint}", f"out={out}", *args)
    report = json.loads((out / "bench.json").read_text())
    assert set(report["results"]) == {"torch-eager", "onnxruntime-cpu"}
    for by_batch in report["results"].values():
        assert set(by_batch) == {"1", "2"}
        for timings in by_batch.values():
            for kind in ("model", "step"):
                stats = timings[kind]
                assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
                assert abs(stats["hz"] - 1000 / stats["p50_ms"]) < 1e-6
    assert set(report["step_speedup_vs_torch"]["onnxruntime-cpu"]) == {"1", "2"}
    assert (out / "bench.png").stat().st_size > 1000 and (out / "export" / "model.onnx").exists()
    assert "onnxruntime-cpu batch   1" in result.stdout


def test_bench_loop_refuses_what_it_cannot_run(tmp_path):
    """target=loop itself runs in tests/ros/test_dds_loop.py; here, the errors that stop it before any
    process starts."""
    out = tmp_path / "loop"
    result = run_cli("fuse_ros.cli.bench", "target=loop", "transport=ros", f"out={out}", ok=False)
    assert "transport=ros: the loop benchmark runs over ('dds',)" in result.stderr
    result = run_cli("fuse_ros.cli.bench", "target=loop", "episodes=0", f"out={out}", ok=False)
    assert "episodes must be >= 1" in result.stderr
    result = run_cli("fuse_ros.cli.bench", "target=latency", f"out={out}", ok=False)
    assert "target must be model or loop" in result.stderr
    assert not out.exists()
