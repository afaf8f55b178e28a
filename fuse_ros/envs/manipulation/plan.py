"""What the scripted expert decides to do under an instruction: which things it probes, in which order.

The plan is a function of the episode and the instruction variant only. Two variants with the same
plan get the same demonstration, so a demonstration recorded under one is a correct demonstration of
the other: FuSe's relabelling (the action loss conditioned on any valid variant) without asking the
policy to know what it cannot (a "red cube" demonstration goes straight to the target; a "soft one"
must probe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fuse_ros.instructions import SIMPLE

from .language import button_key, chain_key, chained, object_key, senses
from .tasks import Episode

SWEEP_SLANT = 0.3  # probe order key y + SWEEP_SLANT * x: y decides unless things share a y
BIN_REACH = 0.1  # m from the bin's centre: what counts as in the bin


@dataclass(frozen=True)
class Plan:
    """`cue_presses`: buttons pressed to find the cue by ear (compositional); `probes`: the things
    (buttons, or objects) touched in turn, the last being the target, which is held or lifted."""

    cue_presses: tuple[int, ...]
    probes: tuple[int, ...]


def plan(episode: Episode, variant: str) -> Plan:
    buttons, objects = episode.layout.buttons, episode.layout.objects
    if episode.target_is_button:
        return Plan((), _probe_order(_look_alikes(episode, variant), episode.target, buttons))
    cue = ()
    if chained(episode, senses(variant)):  # find the cue button by ear first
        cue = _probe_order(list(range(len(buttons))), episode.cue, buttons)
    return Plan(cue, _probe_order(_look_alikes(episode, variant), episode.target, objects))


def same_plan(episode: Episode, variant: str, candidates: list[str]) -> list[str]:
    """The candidate variants whose demonstration is the one recorded under `variant`."""
    recorded = plan(episode, variant)
    return [v for v in candidates if plan(episode, v) == recorded]


def _look_alikes(episode: Episode, variant: str) -> list[int]:
    """The things (buttons, or objects) that the instruction cannot tell from the target by sight.
    In the dark nothing is seen: every object in the bin (where the instruction says the target is)."""
    if episode.layout.dark:
        return [i for i, obj in enumerate(episode.layout.objects) if _in_bin(episode, obj.xy)]
    things = episode.layout.buttons if episode.target_is_button else episode.layout.objects
    target = _seen(episode, variant, things[episode.target])
    return [i for i, thing in enumerate(things) if _seen(episode, variant, thing) == target]


def _in_bin(episode: Episode, xy: tuple[float, float]) -> bool:
    bin_xy = episode.layout.bin_xy
    return bin_xy is not None and float(np.hypot(*np.subtract(xy, bin_xy))) < BIN_REACH


def _seen(episode: Episode, variant: str, thing) -> object:
    """What sight, with what the instruction names, tells about a button or an object."""
    groups = senses(variant)
    looks = ("visual",) if "visual" in groups else ()
    if episode.target_is_button:
        return button_key(thing, looks)
    if chained(episode, groups):  # the cue button's tone told the colour
        return chain_key(thing, ())
    if looks:
        return object_key(thing, looks)
    if variant == SIMPLE:  # the noun tells the shape
        return thing.kind.shape
    return None


def _probe_order(candidates: list[int], target: int, things: tuple) -> tuple[int, ...]:
    """The candidates touched before finding the target, then the target: right to left (y), and
    along x where things stand side by side in x (the bin), so jitter never reorders them."""
    order = sorted(candidates, key=lambda i: things[i].xy[1] + SWEEP_SLANT * things[i].xy[0])
    return tuple(order[: order.index(target) + 1])
