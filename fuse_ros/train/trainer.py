"""The training loop: pretraining and FuSe fine-tuning, one process or several under torchrun (DDP).

Pretraining and fine-tuning are the same loop with other settings: the policy's modalities, the
initial weights (`init`, copied with `load_weights(strict=False)` onto a policy with new sensors) and
the loss weights (`fuse_ros.train.objective`). AdamW, linear warm-up then cosine decay, gradient
clipping. Rank 0 logs and saves; under torchrun each rank reads its own shard of the windows.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler, RandomSampler, Subset
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.data.stats import compute_stats
from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.observation import ObservationSpec
from fuse_ros.policy import Policy, PolicyConfig, load_weights
from fuse_ros.policy.checkpoint import WEIGHTS_FILE
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.train.choices import DECISION_LEAD, decisions
from fuse_ros.train.dataset import WindowDataset, collate
from fuse_ros.train.objective import Language, LossWeights, Objective, description_vocabulary, total
from fuse_ros.train.state import METRICS_FILE, OPTIMIZER_FILE, load_optimizer, read_training, save_run

PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    data: list[str]  # dataset folders (fuse-generate); their episodes are pooled
    out: str
    modalities: list[str] | None = None  # the policy's sensors (None: all the first dataset has)
    init: str | None = None  # pretrained run folder to fine-tune from (weights that fit are copied)
    embodiment: str = "manipulation"
    preset: str = "tiny"
    policy: dict[str, Any] = field(default_factory=dict)  # PolicyConfig overrides
    steps: int = 200
    batch_size: int = 16
    lr: float = 3e-4
    warmup: int = 20
    weight_decay: float = 0.01
    clip: float = 1.0
    loss: LossWeights = field(default_factory=LossWeights)
    combinations: int = 2  # sensor combinations sampled per step for the generation loss
    sensor_dropout: float = 0.0  # chance a window's action pass goes without a sensing group
    p_rephrase: float = 0.5
    held_out_variants: tuple[str, ...] = ()  # instruction variants never acted on in training (zero-shot)
    relabel: bool = False  # act on any variant whose demonstration is the recorded one (FuSe's draw)
    decision_weight: int = 1  # windows leading to a demonstration's decision are drawn this many times
    seed: int = 0
    workers: int = 0  # DataLoader worker processes
    log_every: int = 10
    save_every: int = 100
    resume: bool = True  # continue a run found in `out`
    progress: bool = True
    compile: bool = False  # torch.compile each transformer block (H200, small: 1.06x fp32, none in bf16)
    precision: str = "fp32"  # fp32, or bf16 autocast (weights, gradients and AdamW stay fp32)

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("data: give at least one dataset folder")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError(f"steps must be >= 1 and batch_size >= 2, got {self.steps}, {self.batch_size}")
        if not (isinstance(self.decision_weight, int) and self.decision_weight >= 1):
            raise ValueError(f"decision_weight must be an int >= 1, got {self.decision_weight!r}")
        if isinstance(self.loss, dict):
            self.loss = LossWeights(**self.loss)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up to `lr`, then cosine decay to 0 at `steps`."""
    warm = min(1.0, (step + 1) / max(1, config.warmup))
    return config.lr * warm * 0.5 * (1 + math.cos(math.pi * min(1.0, step / config.steps)))


def _distributed() -> tuple[int, int]:
    """(rank, world size); joins the torchrun group (gloo on CPU, nccl on GPUs) when there is one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        index = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


class Trainer:
    """Builds the policy and data for a TrainConfig and runs it (`run`)."""

    def __init__(self, config: TrainConfig):
        self.config = c = config
        self.out = Path(c.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.rank, self.world = _distributed()
        self.device = _device(self.rank)
        torch.manual_seed(c.seed)
        stores = [EpisodeStore(root) for root in c.data]
        data_spec = stores[0].spec
        names = c.modalities or data_spec.names()
        unknown = [n for n in names if n not in data_spec.modalities]
        if unknown:
            raise ValueError(f"modalities {unknown} are not in {c.data[0]}; it has {data_spec.names()}")
        spec = ObservationSpec.of(*(data_spec[n] for n in names))
        resuming = c.resume and (self.out / OPTIMIZER_FILE).exists()
        self.normalizer = Normalizer.load(self.out) if resuming else self._statistics(stores)
        self.base = base = PolicyConfig.preset(c.preset, **c.policy)  # the architecture asked for
        if c.loss.occupancy and not base.bev_grid:
            raise ValueError("loss.occupancy needs a BEV head: set policy.bev_grid (e.g. 16)")
        if c.loss.blocked and not base.blocked_head:
            raise ValueError("loss.blocked needs the blocked-path head: set policy.blocked_head=true")
        bev = (base.bev_extent, base.bev_grid) if c.loss.occupancy else None
        self.datasets = [
            WindowDataset(
                root,
                spec,
                self.normalizer,
                base.window,
                base.action_chunk,
                c.seed,
                c.p_rephrase,
                bev,
                c.held_out_variants,
                bool(c.loss.blocked),
                c.relabel,
            )
            for root in c.data
        ]
        self.language = LanguageEncoder(base.max_task_tokens, self.device)
        self.policy = self._build_policy(spec, resuming)
        self.objective = Objective(self.policy, c.embodiment, c.loss, c.sensor_dropout)
        self.model: torch.nn.Module = self.objective  # what a step calls: maybe DDP-wrapped
        if self.world > 1:
            self.model = DistributedDataParallel(self.objective, find_unused_parameters=True)
        if c.compile:  # block by block: the passes differ in which sensors they see, not in their blocks
            for block in self.policy.transformer.blocks:
                block.compile()
        self.texts = Language(self.language, self.policy)
        decay = [p for n, p in self.policy.named_parameters() if p.dim() >= 2 and "position" not in n]
        rest = [p for n, p in self.policy.named_parameters() if not (p.dim() >= 2 and "position" not in n)]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": c.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=c.lr,
        )
        self.step = 0
        if resuming:
            load_optimizer(self.optimizer, self.out / OPTIMIZER_FILE)
            self.step = read_training(self.out)["step"]
            self._say(f"resuming {self.out} at step {self.step}")

    def _say(self, text: str) -> None:
        if self.rank == 0:
            print(text, flush=True)

    def _statistics(self, stores: list[EpisodeStore]) -> Normalizer:
        if len(stores) == 1:
            return Normalizer.load(stores[0].root)
        episodes = (store.load(n, verify=False) for store in stores for n in store.names())
        return Normalizer(compute_stats(episodes, stores[0].spec))

    def _build_policy(self, spec: ObservationSpec, resuming: bool) -> Policy:
        c = self.config
        descriptions = {
            text
            for d in self.datasets
            for e in d.episodes
            if e.instructions
            for text in e.instructions.descriptions.values()
        }
        vocabulary = description_vocabulary(self.language, sorted(descriptions), self.base.description_tokens)
        dims = {c.embodiment: self.datasets[0].action_dim}
        config = PolicyConfig.preset(
            c.preset, **{"action_dims": dims, **c.policy, "vocab_size": len(vocabulary)}
        )
        policy = Policy(config, spec).to(self.device)
        if not resuming:  # before loading: the generation rows a checkpoint brings follow their words
            policy.generation.set_vocabulary(vocabulary.to(self.device))
        source = self.out if resuming else c.init
        if source is not None:
            report = load_weights(policy, source, strict=resuming)
            if not resuming:
                self._say(f"fine-tuning from {c.init}:\n{report}")
        return policy.train()

    @functools.cached_property
    def windows(self) -> Dataset:
        """Every training window, those that lead to a demonstration's decision (`choices.decisions`:
        press or move on, lift or let go) `decision_weight` times: they are few, and they are where the
        senses matter."""
        data = ConcatDataset(self.datasets)
        if self.config.decision_weight == 1:
            return data
        index, first = [], 0
        for d in self.datasets:
            task = d.store.info.get("task", "")
            near = {
                (e, t)
                for e, episode in enumerate(d.episodes)
                for step, _ in decisions(np.asarray(episode.actions), task)
                for t in range(step - DECISION_LEAD, step + 1)
            }
            repeat = self.config.decision_weight
            index += [first + i for i, at in enumerate(d.index) for _ in range(repeat if at in near else 1)]
            first += len(d)
        return Subset(data, index)

    def _loader(self, epoch: int, skip: int = 0) -> DataLoader:
        """The batches of `epoch`, less its first `skip` (a resumed run goes on where it stopped)."""
        data = self.windows
        for d in self.datasets:
            d.epoch = epoch
        if self.world > 1:
            sampler = DistributedSampler(data, self.world, self.rank, seed=self.config.seed)
            sampler.set_epoch(epoch)
        else:
            sampler = RandomSampler(data, generator=torch.Generator().manual_seed(self.config.seed + epoch))
        return DataLoader(
            data,
            batch_size=self.config.batch_size,
            sampler=list(sampler)[skip * self.config.batch_size :],
            drop_last=len(data) // self.world >= self.config.batch_size,
            collate_fn=collate,
            num_workers=self.config.workers,
        )

    def batches(self):
        """Batches from the current step on, epoch after epoch; the same on resume as without one."""
        epoch, skip = divmod(self.step, len(self._loader(0)))
        while True:
            yield from self._loader(epoch, skip)
            epoch, skip = epoch + 1, 0

    def train_step(self, batch) -> dict[str, float]:
        """One optimisation step; returns the logged figures."""
        c = self.config
        rng = np.random.default_rng((c.seed, self.step))  # the same combinations on every rank
        combos = self.texts.combinations(c.combinations, rng) if c.loss.generation else []
        targets = self.texts.prepare(batch.to(self.device), c.loss, combos)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, c)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=c.precision == "bf16"):
            terms = self.model(batch, targets)
        loss = total(terms, c.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), c.clip)
        self.optimizer.step()
        self.step += 1
        scale = self.policy.contrastive.log_logit_scale.exp()
        extra = {"loss": loss.item(), "grad_norm": norm.item(), "lr": self.optimizer.param_groups[0]["lr"]}
        return {**{k: v.item() for k, v in terms.items()}, **extra, "logit_scale": scale.item()}

    def save(self) -> None:
        if self.rank != 0:
            return
        info = {"step": self.step, "config": asdict(self.config), "world_size": self.world}
        save_run(self.out, self.policy, self.normalizer, self.optimizer, info)

    def run(self) -> dict[str, float]:
        """Train to `steps`, logging and saving as configured; returns the last logged figures."""
        c = self.config
        self._say(
            f"{self.policy.config.width}x{self.policy.config.depth} policy over {self.policy.spec.names()}"
        )
        writer = SummaryWriter(self.out / "logs") if self.rank == 0 else None
        bar = tqdm(total=c.steps, initial=self.step, disable=not c.progress or self.rank != 0, desc="train")
        batches, figures, start = self.batches(), {}, time.perf_counter()
        while self.step < c.steps:
            figures = self.train_step(next(batches))
            bar.update(1)
            bar.set_postfix(loss=f"{figures['loss']:.3f}", action=f"{figures['action']:.3f}")
            if writer and (self.step % c.log_every == 0 or self.step == c.steps):
                figures["seconds"] = time.perf_counter() - start
                for key, value in figures.items():
                    writer.add_scalar(key, value, self.step)
                with open(self.out / METRICS_FILE, "a") as f:
                    f.write(json.dumps({"step": self.step, **figures}) + "\n")
            if self.step % c.save_every == 0 or self.step == c.steps:
                self.save()
        bar.close()
        if writer:
            writer.close()
        self._say(f"saved {self.out / WEIGHTS_FILE} at step {self.step}")
        return figures
