"""What a policy chooses at the steps where a demonstration decides, on demonstrations it never saw.

Closed-loop success mixes moving well with choosing well. At a decision step the scripted expert
(`fuse_ros.envs.manipulation.expert`) does one of two things that only the senses can settle: after
pressing a button it rises (a tap: not the named tone) or stays down (a hold); after squeezing an object it
lets go (not the named feel) or lifts. The driving expert (`fuse_ros.envs.driving.expert`) decides when it
starts a lane change, for an obstacle it sees in its lane: its steering jumps from about 0 to about
+-0.4 in one step; the choice is left ("moves on") or right. The probe asks the policy for its action
at exactly those steps, from the recorded observations, and compares. Leaving a sense out (`drop`) shows
how much the choice rests on it.

    python -m fuse_ros.train.choices <checkpoint> <dataset> [--drop audio ...]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fuse_ros.envs.manipulation.expert import SQUEEZE_STEPS
from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.policy.checkpoint import load_policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.train.dataset import WindowDataset, collate

Z, GRIP = 2, 6  # action entries: vertical motion, gripper (-1 open, 1 closed)
STEER = 0  # driving action entry: steering, left > 0
STILL, RISE = 0.1, 0.3  # the expert holds still below |z| = STILL and rises (at about 1) above RISE
RISEN = 0.5  # a policy's z above this is nearer the expert's rise than its stillness
TURN_IN = 0.2  # the driving expert's |steer| jumps past this from below STILL as a lane change starts
PRESS_TASKS, SQUEEZE_TASKS = ("button",), ("grasp", "occluded_grasp", "compositional")
DRIVING_TASKS = ("driving",)
DECISION_LEAD = 1  # the window before a decision sees the press or squeeze too (earlier ones do not)


def decisions(actions: np.ndarray, task: str) -> list[tuple[int, bool]]:
    """(step, moves on) for every decision in a demonstration's actions (T, 7) or (T, 2): the step whose
    action rises from a pressed button or lets go of a squeezed object (moves on), or stays / lifts; the
    step that starts a lane change to the left (moves on) or right. Empty for other tasks."""
    if task in DRIVING_TASKS:
        steer = actions[:, STEER]
        return [
            (t, bool(steer[t] > 0))
            for t in range(1, len(steer))
            if abs(steer[t - 1]) < STILL and abs(steer[t]) > TURN_IN
        ]
    if task not in PRESS_TASKS + SQUEEZE_TASKS:
        return []
    z, grip = actions[:, Z], actions[:, GRIP]
    if task in PRESS_TASKS:
        pressed = [t for t in range(1, len(z) - 1) if z[t - 1] < -STILL < z[t] < STILL]  # down, now still
        return [(t + 1, bool(z[t + 1] > RISE)) for t in pressed]
    return [
        (t + SQUEEZE_STEPS, bool(grip[t + SQUEEZE_STEPS] < 0))
        for t in range(1, len(z) - SQUEEZE_STEPS)
        if grip[t - 1] < 0 < grip[t] and abs(z[t]) < STILL
    ]


@dataclass
class ChoiceReport:
    task: str
    decisions: int
    accuracy: float
    balanced_accuracy: float  # mean of the accuracies on move-on and on stay decisions
    policy_moves_on: float  # how often the policy moves on
    expert_moves_on: float
    by_variant: dict[str, float]  # instruction variant -> accuracy

    def __str__(self) -> str:
        variants = " ".join(f"{v} {a:.2f}" for v, a in sorted(self.by_variant.items()))
        return (
            f"{self.task}: {self.decisions} decisions, accuracy {self.accuracy:.2f}, balanced "
            f"{self.balanced_accuracy:.2f}; moves on {self.policy_moves_on:.2f} (expert "
            f"{self.expert_moves_on:.2f}); by variant: {variants}"
        )


@torch.no_grad()
def probe(
    checkpoint: str | Path, dataset: str | Path, drop: Sequence[str] = (), batch: int = 32
) -> ChoiceReport:
    """Each decision is asked at its own step (first action of the chunk) and at the DECISION_LEAD steps
    before it (later actions), as a policy that replans every step or every other step would meet it."""
    torch.manual_seed(0)  # a diffusion head's noise: the same probe, the same answer
    policy = load_policy(checkpoint).eval()
    normalizer = Normalizer.load(checkpoint)
    unknown = [m for m in drop if m not in policy.tokenizers]
    if unknown:
        raise ValueError(f"cannot drop {unknown}: the policy senses {list(policy.tokenizers)}")
    windows = WindowDataset(
        dataset, policy.spec, normalizer, policy.config.window, policy.config.action_chunk
    )
    task = windows.store.info.get("task", "")
    rows, ahead, moves_on, variants, first = [], [], [], [], 0
    for episode in windows.episodes:
        for step, move_on in decisions(np.asarray(episode.actions), task):
            for k in range(DECISION_LEAD + 1):
                rows.append(first + step - k)
                ahead.append(k)
                moves_on.append(move_on)
                variants.append(str(episode.meta.get("variant")))
        first += episode.steps
    if not rows:
        raise ValueError(f"{dataset}: no decisions found in the {task!r} demonstrations")
    language = LanguageEncoder(policy.config.max_task_tokens)
    chunks = []
    for i in range(0, len(rows), batch):
        b = collate([windows[j] for j in rows[i : i + batch]])
        valid = {k: v & (k not in drop) for k, v in b.valid.items()}
        chunks.append(policy.predict_actions(b.observations, valid, language.encode(b.instructions)))
    actions = normalizer.denormalize("actions", torch.cat(chunks).numpy())[np.arange(len(rows)), ahead]
    expert = np.asarray(moves_on)
    if task in DRIVING_TASKS:  # a choice to turn in either way; still steering is wrong either way
        chosen = actions[:, STEER] > TURN_IN / 2
        right = np.where(expert, chosen, actions[:, STEER] < -TURN_IN / 2)
    else:
        chosen = actions[:, Z] > RISEN if task in PRESS_TASKS else actions[:, GRIP] < 0
        right = chosen == expert
    per_variant = defaultdict(list)
    for variant, ok in zip(variants, right, strict=True):
        per_variant[variant].append(ok)
    return ChoiceReport(
        task,
        len(rows) // (DECISION_LEAD + 1),
        float(right.mean()),
        float(np.mean([right[expert == e].mean() for e in (False, True) if (expert == e).any()])),
        float(chosen.mean()),
        float(expert.mean()),
        {v: float(np.mean(oks)) for v, oks in per_variant.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("dataset", help="held-out demonstrations (fuse-generate with another seed)")
    parser.add_argument("--drop", nargs="*", default=[], help="modalities treated as silent, e.g. audio")
    args = parser.parse_args()
    print(probe(args.checkpoint, args.dataset, args.drop))


if __name__ == "__main__":
    main()
