"""Instructions and sensed descriptions for a driving episode, in FuSe's schema over "visual" and "lidar".

The camera knows colour and class but loses things in the dark, in fog and in the sun's glare; the lidar
knows shape, lane and distance in any light but not colour. Instructions may only rely on a sense that
works in the episode's condition (visual variants are invalid at night and in fog). Descriptions say what
each sense picked up when the instruction was given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fuse_ros.instructions import EMPTY, SIMPLE, Instructions, variant_names

from .actors import Actor
from .conditions import Condition
from .road import SHOULDER, Road
from .tasks import CHANGE_LANE, LANE_KEEP, PULL_OVER, STOP_BEHIND, Scenario

GROUPS = ("visual", "lidar")
VARIANTS = variant_names(GROUPS)  # simple, empty, visual, lidar, visual+lidar
MAX_MENTIONED = 4  # objects per description, nearest first
CLEAR = 60  # metres: a lane with nothing this close is "clear"
MIN_RETURNS = 3  # lidar returns that make an object "sensed" by the lidar


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def place(road: Road, lane: int) -> str:
    return "on the shoulder" if lane == SHOULDER else f"in the {road.lane_name(lane)}"


@dataclass(frozen=True)
class Sighting:
    """One actor as the senses saw it when the instruction was given."""

    actor: Actor
    distance: float  # metres from the ego's front to the actor's rear (negative: behind)
    place: str  # "in the middle lane", "on the shoulder"
    by_camera: bool
    by_lidar: bool

    @property
    def metres(self) -> int:
        return int(5 * round(self.distance / 5))

    @property
    def how_far(self) -> str:
        return f"about {abs(self.metres)} m {'ahead' if self.distance >= 0 else 'behind'}"

    @property
    def where(self) -> str:
        return f"{self.place} {self.how_far}"

    def clause(self, visual: bool, lidar: bool) -> str:
        """'a red car is stopped in the middle lane about 20 m ahead', in the words of the given senses:
        the camera names colour and class, the lidar shape and distance."""
        what = self.actor.description() if visual else self.actor.cls.shape_name
        where = self.where if lidar else f"{self.place} {'ahead' if self.distance >= 0 else 'behind'}"
        return f"{_article(what)} {what} {self.actor.stance} {where}"


def sightings(
    actors: list[Actor],
    boxes: np.ndarray,
    returns: np.ndarray,
    camera_sees: Callable[[np.ndarray], bool],
    road: Road,
    ego_length: float,
) -> list[Sighting]:
    """How the senses saw each actor: by lidar if it drew enough returns, by camera if the condition lets
    the camera make it out and it is not hidden (it drew at least one lidar return). `boxes` (K, 7) in
    the ego frame, `returns` (K,) lidar returns per actor."""
    out = []
    for actor, box, hits in zip(actors, boxes, returns, strict=True):
        reach = (box[3] + ego_length) / 2
        distance = box[0] - reach if box[0] > 0 else box[0] + reach
        camera = hits > 0 and camera_sees(box[:3])
        out.append(
            Sighting(actor, float(distance), place(road, actor.lane), bool(camera), bool(hits >= MIN_RETURNS))
        )
    return out


def describe(seen: list[Sighting], condition: Condition, lidar_range: float) -> dict[str, str]:
    """What each sense (and both together) picked up, nearest first."""
    ahead = sorted((s for s in seen if s.distance > -5), key=lambda s: abs(s.distance))
    seen_camera = [s.clause(True, False) for s in ahead if s.by_camera][:MAX_MENTIONED]
    seen_lidar = [s.clause(False, True) for s in ahead if s.by_lidar][:MAX_MENTIONED]
    seen_both = [s.clause(s.by_camera, s.by_lidar) for s in ahead if s.by_camera or s.by_lidar][
        :MAX_MENTIONED
    ]
    visual = "; ".join(seen_camera) or "the road ahead looks clear"
    if condition.summary:
        visual = f"{condition.summary}; " + ("; ".join(seen_camera) or "nothing else can be made out")
    lidar = "; ".join(seen_lidar) or f"no objects within {int(lidar_range)} m"
    return {"visual": visual, "lidar": lidar, "visual+lidar": "; ".join(seen_both) or lidar}


def _lane_keep(scene: Scenario, seen: list[Sighting], road: Road) -> dict[str, list[str]]:
    first = seen[0]
    name, shape, where = first.actor.description(), first.actor.cls.shape_name, first.where
    return {
        SIMPLE: [
            "keep driving and avoid the obstacles",
            "drive on without hitting anything",
            "stay on the road and steer around anything in your way",
            "continue down the road safely",
        ],
        "visual": [
            f"drive around the {name} ahead",
            f"steer around the {name} blocking the lane",
            f"get past the {name} and keep going",
        ],
        "lidar": [
            f"steer around the {shape} {where}",
            f"go around the {shape} {where} and drive on",
            f"avoid the {shape} {where}",
        ],
        "visual+lidar": [f"drive around the {name} {where}", f"get past the {name} {where} and keep going"],
    }


def _change_lane(scene: Scenario, seen: list[Sighting], road: Road) -> dict[str, list[str]]:
    lane = road.lane_name(scene.goal.lane)
    simple = [
        f"change to the {lane}",
        f"move one lane to the {scene.goal.direction}",
        f"move over to the {lane}",
        f"switch into the {lane}",
        f"merge into the {lane}",
    ]
    there = [s for s in seen if s.actor.lane == scene.goal.lane and abs(s.distance) < CLEAR]
    if not there:
        return {
            SIMPLE: simple,
            "visual": [
                f"change to the {lane} across the dashed line",
                f"cross the dashed line into the {lane}",
            ],
            "lidar": [f"change to the {lane}, which is clear for {CLEAR} m", f"move into the empty {lane}"],
            "visual+lidar": [f"cross the dashed line into the {lane}; it is clear for {CLEAR} m"],
        }
    near = min(there, key=lambda s: abs(s.distance))
    name, shape, how_far = near.actor.description(), near.actor.cls.shape_name, near.how_far
    return {
        SIMPLE: simple,
        "visual": [f"change to the {lane}, where the {name} is", f"move over into the lane of the {name}"],
        "lidar": [
            f"change to the {lane}, with a {shape} {how_far} in it",
            f"merge into the {lane}; a {shape} is there {how_far}",
        ],
        "visual+lidar": [f"change to the {lane}, where the {name} is {how_far}"],
    }


def _stop_behind(scene: Scenario, seen: list[Sighting], road: Road) -> dict[str, list[str]]:
    target = seen[scene.goal.target]
    colour, where = target.actor.colour, target.where
    return {
        SIMPLE: [
            "stop behind the stopped car",
            "pull up behind the parked car",
            "come to a stop behind the car ahead",
        ],
        "visual": [
            f"stop behind the {colour} car",
            f"pull up behind the {colour} car",
            f"come to a stop behind the {colour} car",
            f"halt behind the {colour} car",
        ],
        "lidar": [
            f"stop behind the car-sized object {where}",
            f"pull up behind the stopped car {where}",
            f"come to a stop behind the vehicle {where}",
        ],
        "visual+lidar": [f"stop behind the {colour} car {where}", f"pull up behind the {colour} car {where}"],
    }


def _pull_over(scene: Scenario, seen: list[Sighting], road: Road) -> dict[str, list[str]]:
    truck = seen[scene.goal.target]
    colour, where, how_far = truck.actor.colour, truck.where, truck.how_far
    return {
        SIMPLE: [
            "pull over after the truck",
            "pull onto the shoulder past the truck",
            "stop on the shoulder once you pass the truck",
            "park on the shoulder after the truck",
        ],
        "visual": [f"pull over after the {colour} truck", f"stop on the shoulder past the {colour} truck"],
        "lidar": [
            f"pull over after the large vehicle {where}",
            f"stop on the shoulder past the large vehicle {how_far}",
        ],
        "visual+lidar": [f"pull over after the {colour} truck {where}"],
    }


_INSTRUCTIONS = {
    LANE_KEEP: _lane_keep,
    CHANGE_LANE: _change_lane,
    STOP_BEHIND: _stop_behind,
    PULL_OVER: _pull_over,
}


def instructions(
    scene: Scenario, seen: list[Sighting], condition: Condition, road: Road, lidar_range: float
) -> Instructions:
    """The episode's instructions (visual variants only where the camera works) and descriptions.
    `seen` holds one Sighting per actor, in the scenario's actor order."""
    texts = _INSTRUCTIONS[scene.task](scene, seen, road)
    variants = {}
    for name in VARIANTS:
        usable = name in (SIMPLE, EMPTY) or condition.visual_ok or "visual" not in name
        variants[name] = tuple(texts.get(name, ())) if usable else ()
    return Instructions(variants, describe(seen, condition, lidar_range))
