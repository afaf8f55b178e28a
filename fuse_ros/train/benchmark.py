"""What a training step costs: FuSe next to action-only, eager or compiled, fp32 or bf16.

    python -m fuse_ros.train.benchmark <dataset> [--preset small] [--batch 64] [--repeats 10]
        [--compile false true] [--precision fp32 bf16] [--combinations 0 2] [--json bench.json]

Times `Trainer.train_step` (forward, backward, clipping, AdamW: the call fuse-train makes) on one batch of
real windows, for every setting: the action loss alone, then FuSe (action + contrastive + generation) with
k sampled sensor combinations. Ratios are within one run: the machines are shared.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from fuse_ros.train.objective import LossWeights
from fuse_ros.train.trainer import PRECISIONS, TrainConfig, Trainer

ACTION_ONLY = LossWeights(contrastive=0, generation=0)


@dataclass(frozen=True)
class Result:
    compile: bool
    precision: str
    step: str  # "action-only" or "FuSe, k combinations"
    ms: float  # median of the timed steps
    windows_per_s: float
    peak_gib: float | None  # GPU memory at the peak of a step (None on the CPU)


def step_seconds(trainer: Trainer, batch, warmup: int, repeats: int) -> float:
    """Median seconds of `train_step` after `warmup` steps (allocation, the text cache, compilation)."""
    for _ in range(warmup):
        trainer.train_step(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.train_step(batch)  # ends in .item(): the GPU has finished the step
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(config: TrainConfig, step: str, warmup: int, repeats: int) -> Result:
    trainer = Trainer(config)
    batch = next(trainer.batches()).to(trainer.device)
    cuda = trainer.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds = step_seconds(trainer, batch, warmup, repeats)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    del trainer, batch
    if cuda:
        torch.cuda.empty_cache()
    return Result(config.compile, config.precision, step, seconds * 1e3, config.batch_size / seconds, peak)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        prog="python -m fuse_ros.train.benchmark", description=__doc__.split("\n")[0]
    )
    parser.add_argument("data", help="a dataset folder with the policy's sensors (fuse-generate)")
    parser.add_argument("--preset", default="tiny", choices=["tiny", "small"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compiling takes several)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", nargs="+", default=["false"], choices=["false", "true"])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS)
    parser.add_argument(
        "--combinations", nargs="+", type=int, default=[2], help="FuSe's sampled combinations"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {args.threads} thread(s)"
    print(f"{args.preset} policy, batch {args.batch}, {device}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as out:
        for compiled in (c == "true" for c in args.compile):
            for precision in args.precision:
                setting = dict(data=[args.data], out=out, preset=args.preset, batch_size=args.batch)
                setting |= dict(progress=False, resume=False, compile=compiled, precision=precision)
                steps = [("action-only", TrainConfig(**setting, loss=ACTION_ONLY))]
                steps += [
                    (f"FuSe, {k} combinations", TrainConfig(**setting, combinations=k))
                    for k in args.combinations
                ]
                base = None
                for name, config in steps:
                    result = measure(config, name, args.warmup, args.repeats)
                    base = base or result.ms
                    results.append(result)
                    memory = f", peak {result.peak_gib:.1f} GiB" if result.peak_gib is not None else ""
                    print(
                        f"{'compiled' if compiled else 'eager'} {precision} {name}: {result.ms:.1f} ms/step, "
                        f"{result.windows_per_s:.0f} windows/s = {result.ms / base:.2f}x action-only{memory}",
                        flush=True,
                    )
    if args.json:
        report = {"preset": args.preset, "batch": args.batch, "device": device}
        Path(args.json).write_text(json.dumps({**report, "results": [asdict(r) for r in results]}, indent=1))
    return results


if __name__ == "__main__":
    main()
