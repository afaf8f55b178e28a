"""FuSe's instruction schema: per episode, instructions that name the target through different senses.

A variant names the sensing groups the instruction relies on: "simple" (the plain task), "empty" (no
language), or a "+"-joined combination of groups such as "visual", "tactile+audio" or "visual+lidar".
A variant is valid only if it makes sense for the episode (a tactile description of a button press does
not): its list of rephrasings is then non-empty. `descriptions` say what each group sensed; they are the
targets of the sensory-grounded generation loss.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

SIMPLE = "simple"
EMPTY = "empty"


def combinations(groups: Sequence[str]) -> list[str]:
    """Every non-empty combination of sensing groups, in a fixed order: "visual", ..., "visual+tactile"."""
    return [
        "+".join(combo)
        for size in range(1, len(groups) + 1)
        for combo in itertools.combinations(groups, size)
    ]


def variant_names(groups: Sequence[str]) -> list[str]:
    """All variants for a simulator whose instructions use these groups (FuSe: 9 for 3 groups)."""
    return [SIMPLE, EMPTY, *combinations(groups)]


@dataclass(frozen=True)
class Instructions:
    """The instructions and sensed descriptions of one episode."""

    variants: dict[str, tuple[str, ...]]  # variant -> rephrasings; empty tuple = not valid here
    descriptions: dict[str, str]  # sensing group or combination -> what was sensed

    def __post_init__(self) -> None:
        if not self.variants.get(SIMPLE):
            raise ValueError("instructions need at least one 'simple' rephrasing")

    @property
    def valid(self) -> dict[str, bool]:
        return {name: bool(texts) or name == EMPTY for name, texts in self.variants.items()}

    def sample(self, rng: np.random.Generator, variant: str | None = None, p_rephrase: float = 0.5) -> str:
        """One instruction: of `variant`, or of a variant drawn uniformly from the valid ones. The first
        rephrasing is canonical; the others are used with probability p_rephrase."""
        if variant is None:
            variant = str(rng.choice([v for v, ok in self.valid.items() if ok]))
        if not self.valid.get(variant, False):
            raise ValueError(f"instruction variant {variant!r} is not valid here; valid: {self.valid}")
        texts = self.variants.get(variant, ())
        if not texts:
            return ""
        if len(texts) > 1 and rng.random() < p_rephrase:
            return texts[int(rng.integers(1, len(texts)))]
        return texts[0]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Instructions:
        raw = json.loads(text)
        return cls({k: tuple(v) for k, v in raw["variants"].items()}, dict(raw["descriptions"]))
