"""Make a demonstration dataset: the scripted expert runs many seeded episodes in parallel worker processes.

Each worker owns one simulator and writes its episodes straight into the store (atomically), so only a
small record per episode crosses processes. Episode i runs with a seed drawn from (seed, i): any episode
can be re-made alone, whatever the number of workers. The reported success rate counts every episode;
by default only successful ones are kept (`keep_failed`), since FuSe trains on demonstrations.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from fuse_ros.data.bag import export_bag
from fuse_ros.data.episodes import EpisodeStore, write_json_atomic
from fuse_ros.data.record import record_episode
from fuse_ros.data.stats import compute_stats, save_stats
from fuse_ros.envs import make, make_expert

SUMMARY_FILE = "summary.json"
BAGS = "bags"


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate. `env` holds keyword arguments for the simulator (e.g. cameras=False)."""

    task: str
    episodes: int
    out: Path
    workers: int = 2
    seed: int = 0
    env: dict[str, Any] = field(default_factory=dict)
    keep_failed: bool = False
    bag: bool = False
    overwrite: bool = False
    max_steps: int | None = None
    action_noise: float = 0.0  # std of noise on the executed action; the expert's is recorded (DART)
    late_driver: bool = False  # driving: an eager expert's labels along the path of one that decides later
    breakdown: tuple[str, ...] = ("variant", "condition", "task")  # reset-info keys to report success by

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if not self.action_noise >= 0.0:
            raise ValueError(f"action_noise must be >= 0 (a std in action units), got {self.action_noise}")
        if self.late_driver and self.task != "driving":
            raise ValueError(
                f"late_driver is for the driving task (its expert's lane changes), not {self.task!r}"
            )


def episode_seed(seed: int, index: int) -> int:
    """The reset seed of episode `index`: independent streams for every (seed, index) pair."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def episode_name(index: int) -> str:
    return f"episode_{index:06d}"


class _Worker:
    """One simulator, its expert and the store, living in a worker process."""

    current: _Worker | None = None

    def __init__(self, config: GenerateConfig) -> None:
        self.config = config
        self.env = make(config.task, **config.env)
        self.expert, self.driver = make_expert(self.env), None
        if config.late_driver:  # labels: move over at once; the car: moves over 20-40 m before the obstacle
            self.expert, self.driver = self.env.unwrapped.make_expert(eager=True), self.expert
        self.store = EpisodeStore(config.out)

    def run(self, index: int) -> dict[str, Any]:
        config, start = self.config, time.perf_counter()
        seed = episode_seed(config.seed, index)
        episode = record_episode(
            self.env,
            self.expert,
            seed,
            config.max_steps,
            action_noise=config.action_noise,
            driver=self.driver,
        )
        seconds = time.perf_counter() - start
        name, size, bag_size = episode_name(index), 0, 0
        if episode.succeeded or config.keep_failed:
            size = self.store.write(episode, name)
            if config.bag:
                bag = export_bag(episode, self.store.spec, config.out / BAGS / name)
                bag_size = sum(p.stat().st_size for p in bag.iterdir())
        facts = {key: str(episode.meta[key]) for key in config.breakdown if key in episode.meta}
        return {
            "index": index,
            "steps": episode.steps,
            "success": episode.succeeded,
            "seconds": seconds,
            "bytes": size,
            "bag_bytes": bag_size,
            **facts,
        }


def _start_worker(config: GenerateConfig) -> None:
    _Worker.current = _Worker(config)


def _run_episode(index: int) -> dict[str, Any]:
    return _Worker.current.run(index)


def _records(config: GenerateConfig) -> Iterator[dict[str, Any]]:
    """Episode records as they finish, in this process (1 worker) or in a pool of fresh processes."""
    if config.workers == 1:
        worker = _Worker(config)
        yield from (worker.run(i) for i in range(config.episodes))
        return
    context = multiprocessing.get_context("spawn")  # no renderer or GL state inherited by fork
    with ProcessPoolExecutor(config.workers, context, _start_worker, (config,)) as pool:
        futures = [pool.submit(_run_episode, i) for i in range(config.episodes)]
        try:
            yield from (future.result() for future in as_completed(futures))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _rates(records: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        if key in record:
            groups[record[key]].append(record["success"])
    return {
        value: {"episodes": len(s), "success_rate": float(np.mean(s))} for value, s in sorted(groups.items())
    }


def summarize(config: GenerateConfig, records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    kept = [r for r in records if r["bytes"]]
    steps = sum(r["steps"] for r in records)
    summary = {
        "task": config.task,
        "env": dict(config.env),
        "seed": config.seed,
        "action_noise": config.action_noise,
        "late_driver": config.late_driver,
        "workers": config.workers,
        "episodes": len(records),
        "episodes_kept": len(kept),
        "expert_success_rate": float(np.mean([r["success"] for r in records])),
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "steps_per_second_per_worker": steps / sum(r["seconds"] for r in records),
        "bytes_per_episode": float(np.mean([r["bytes"] for r in kept])) if kept else 0.0,
        "dataset_bytes": sum(r["bytes"] for r in kept),
    }
    if config.bag and kept:
        summary["bag_bytes_per_episode"] = float(np.mean([r["bag_bytes"] for r in kept]))
    for key in config.breakdown:
        if rates := _rates(records, key):
            summary[f"by_{key}"] = rates
    return summary


def generate(config: GenerateConfig, progress: bool = True) -> dict[str, Any]:
    """Generate the dataset at `config.out` with statistics and summary.json; returns the summary."""
    env = make(config.task, **config.env)
    spec = env.unwrapped.observation_spec
    env.close()
    info = {"task": config.task, "env": dict(config.env), "seed": config.seed, "created_by": "fuse-generate"}
    store = EpisodeStore.create(config.out, spec, info, overwrite=config.overwrite)
    shutil.rmtree(config.out / BAGS, ignore_errors=True)  # bags and summary of a dataset just replaced
    (config.out / SUMMARY_FILE).unlink(missing_ok=True)
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    bar: Iterable = tqdm(_records(config), total=config.episodes, desc=config.task, disable=not progress)
    for record in bar:
        records.append(record)
        bar.set_postfix(success=f"{np.mean([r['success'] for r in records]):.2f}")
    summary = summarize(config, records, time.perf_counter() - start)
    if len(store):
        save_stats(compute_stats((store.load(n, verify=False) for n in store.names()), spec), config.out)
    write_json_atomic(config.out / SUMMARY_FILE, summary)
    return summary
