"""`fuse-bench`: latency per backend and batch size, model alone and whole step -> `<out>/bench.json` + plot;
`target=loop`: the closed loop, sim bridge and policy node over DDS -> `<out>/loop.json` (ros/loop_bench.py).

Model only: `Runtime.infer` on ready feeds. Whole step: raw simulator readings -> `Preprocessor` (window,
validity, lidar crop, cached task tokens) -> model -> the first action of the chunk, as a robot loop runs it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fuse_ros.cli.export import default_task, language_encoder
from fuse_ros.export.manifest import ExportError
from fuse_ros.policy import CheckpointError
from fuse_ros.runtime import RuntimeMissing

BENCH_FILE, PLOT_FILE = "bench.json", "bench.png"


def bench_backend(runtime, pre, observations, instruction, batch: int, iterations: int) -> dict:
    from fuse_ros.runtime import measure

    pre.reset()
    for obs in observations:
        pre.push(obs)
    feeds = pre.feeds(instruction, batch)
    runtime.warm_up(feeds)
    model = runtime.latency(feeds, iterations)

    def step() -> object:
        pre.push(observations[step.k % len(observations)])
        step.k += 1
        return runtime.infer(pre.feeds(instruction, batch))["actions"][:, 0]

    step.k = 0
    return {"model": model.to_json(), "step": measure(step, iterations).to_json()}


def speedups(results: dict) -> dict[str, dict[str, float]]:
    """Per backend and batch: the fastest torch backend's whole-step p50 over this one's."""
    torch_names = [n for n in results if n.startswith("torch")]
    table = {}
    for name, by_batch in results.items():
        for batch, r in by_batch.items():
            baselines = [results[t][batch]["step"]["p50_ms"] for t in torch_names if batch in results[t]]
            if baselines and name not in torch_names:
                table.setdefault(name, {})[batch] = min(baselines) / r["step"]["p50_ms"]
    for name, by_batch in table.items():
        print(
            f"{name} whole step vs fastest torch: "
            + ", ".join(f"batch {b} {x:.2f}x" for b, x in by_batch.items())
        )
    return table


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for backend, by_batch in results.items():
        batches = sorted(by_batch, key=int)
        for kind, style in (("model", "--"), ("step", "-")):
            ax.plot(
                batches,
                [by_batch[b][kind]["p50_ms"] for b in batches],
                style,
                marker="o",
                label=f"{backend} {kind}",
            )
    ax.set(xlabel="batch", ylabel="p50 latency (ms)", yscale="log", title="fuse-bench")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(cfg: DictConfig) -> dict:
    from fuse_ros.export.onnx import export_onnx
    from fuse_ros.export.parity import recorded_steps
    from fuse_ros.runtime import load_runtime
    from fuse_ros.runtime.preprocess import Preprocessor

    out = Path(cfg.out)
    export = Path(cfg.export) if cfg.export else out / "export"
    if not (export / "model.onnx").exists():
        export_onnx(cfg.checkpoint, export)
    observations, instruction = None, ""
    results, manifest = {}, None
    for name, options in cfg.backends.items():
        options = dict(options)
        backend = options.pop("backend")
        if options.get("device", "cpu") == "cpu":
            options.setdefault("threads", cfg.threads)
        try:
            runtime = load_runtime(backend, cfg.checkpoint, export, **options)
        except (RuntimeMissing, ValueError) as err:
            print(f"skip {name}: {err}")
            continue
        if manifest is None:
            manifest = runtime.manifest
            observations, instruction = recorded_steps(
                cfg.task or default_task(manifest.embodiment), cfg.steps
            )
            pre = Preprocessor(manifest, language_encoder(cfg.language, manifest.policy["max_task_tokens"]))
        results[name] = {}
        for batch in cfg.batch_sizes:
            r = results[name][str(batch)] = bench_backend(
                runtime, pre, observations, instruction, batch, cfg.iterations
            )
            model, step = r["model"], r["step"]
            print(
                f"{name:>18} batch {batch:>3}: model p50 {model['p50_ms']:.2f} p99 {model['p99_ms']:.2f} ms"
                f" | step p50 {step['p50_ms']:.2f} p99 {step['p99_ms']:.2f} ms = {step['hz']:.0f} Hz"
            )
    report = {
        "threads": cfg.threads,
        "cpus": len(os.sched_getaffinity(0)),
        "task": cfg.task,
        "results": results,
        "step_speedup_vs_torch": speedups(results),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / BENCH_FILE).write_text(json.dumps(report, indent=2))
    if cfg.plot and results:
        plot(results, out / PLOT_FILE)
    print(f"bench: {out / BENCH_FILE}")
    return report


def run_loop(cfg: DictConfig) -> dict:
    from fuse_ros.ros.loop_bench import LoopConfig, run_loop

    loop = dict(cfg.loop)
    config = LoopConfig(
        task=cfg.task or "button",
        episodes=int(cfg.episodes),
        out=Path(cfg.out),
        checkpoint=str(cfg.checkpoint or ""),
        export=str(cfg.export or ""),
        transport=cfg.transport,
        **loop,
    )
    return run_loop(config)


@hydra.main(version_base="1.3", config_path="../conf", config_name="bench")
def _main(cfg: DictConfig) -> None:
    if cfg.target not in ("model", "loop"):
        sys.exit(f"fuse-bench: target must be model or loop, got {cfg.target!r}")
    if not cfg.out or (cfg.target == "model" and not cfg.checkpoint):
        sys.exit("fuse-bench: give checkpoint=<dir> and out=<dir> (target=loop: out=<dir>)")
    try:
        run_loop(cfg) if cfg.target == "loop" else run(cfg)
    except (CheckpointError, ExportError, ValueError, RuntimeError, TimeoutError) as err:
        sys.exit(f"fuse-bench: {err}")


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
