"""Driving tasks: how each episode's road scene is drawn, and when the ego has done what was asked.

- lane_keep: obstacles block lanes ahead (the ego's own lane half the time); drive on past them without
  touching anything.
- change_lane: a command to move one lane left or right.
- stop_behind: "stop behind the red car" - two cars are stopped in different lanes; stop behind the named one.
- pull_over: "pull over after the truck" - a truck is parked on the shoulder; stop on the shoulder past it.

Every scene is solvable: moving traffic never starts behind a stopped obstacle in its own lane, and there is
always a free lane to pass through. The ego starts at x = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .actors import BARRIER, CAR, CAR_COLOURS, PEDESTRIAN, TRUCK, Actor, ObjectClass
from .road import SHOULDER, Road
from .vehicle import EgoState, VehicleLimits

LANE_KEEP, CHANGE_LANE, STOP_BEHIND, PULL_OVER = "lane_keep", "change_lane", "stop_behind", "pull_over"
TASKS = (LANE_KEEP, CHANGE_LANE, STOP_BEHIND, PULL_OVER)
COMMANDS = (CHANGE_LANE, STOP_BEHIND, PULL_OVER)  # the language-command tasks ("command" picks one)
TIME_LIMITS = {LANE_KEEP: 30.0, CHANGE_LANE: 20.0, STOP_BEHIND: 25.0, PULL_OVER: 30.0}  # seconds

STOPPED_SPEED = 0.3  # m/s: "stopped" for the success checks
MAX_STOP_GAP = 12.0  # metres: stopping farther behind the car does not count as "behind" it
PULL_OVER_REACH = 45.0  # metres past the truck within which the ego must stop
BLOCKED_CHANCE = 0.5  # lane_keep: how often the first obstacle stands in the ego's own lane


@dataclass(frozen=True)
class Goal:
    task: str
    lane: int | None = None  # where the ego must end up (SHOULDER for pull_over); None: any lane
    target: int = -1  # index of the actor the command names (stop_behind, pull_over)
    finish_x: float = np.inf  # lane_keep: drive past this
    direction: str = ""  # change_lane: "left" or "right"


@dataclass
class Scenario:
    task: str
    ego: EgoState
    actors: list[Actor]
    goal: Goal
    path: str = ""  # lane_keep: "blocked" when a stopped obstacle stands in the ego's lane, else "clear"


def goal_reached(goal: Goal, ego: EgoState, actors: list[Actor], road: Road, limits: VehicleLimits) -> bool:
    """Whether the ego, as it is now, has done what the task asks (collisions are judged elsewhere)."""
    straight = abs(ego.yaw) < 0.1
    if goal.task == LANE_KEEP:
        lane = road.lane_at(ego.y)
        return ego.x >= goal.finish_x and lane != SHOULDER and abs(ego.y - road.lane_y(lane)) < 1.0
    if goal.task == CHANGE_LANE:
        return abs(ego.y - road.lane_y(goal.lane)) < 0.35 and abs(ego.yaw) < 0.05
    stopped = ego.speed < STOPPED_SPEED and straight
    front, rear = ego.x + limits.length / 2, ego.x - limits.length / 2
    target = actors[goal.target]
    if goal.task == STOP_BEHIND:
        in_lane = abs(ego.y - road.lane_y(goal.lane)) < 0.7
        return stopped and in_lane and 0.5 <= target.rear - front <= MAX_STOP_GAP
    if goal.task == PULL_OVER:
        on_shoulder = abs(ego.y - road.lane_y(SHOULDER)) < 0.6
        return (
            stopped and on_shoulder and target.front + 1.0 <= rear and front <= target.front + PULL_OVER_REACH
        )
    raise ValueError(f"unknown driving task {goal.task!r}; choose one of {TASKS}")


def make_scenario(task: str, road: Road, rng: np.random.Generator) -> Scenario:
    """A random scene for `task` (see the module docstring)."""
    makers = {
        LANE_KEEP: _lane_keep,
        CHANGE_LANE: _change_lane,
        STOP_BEHIND: _stop_behind,
        PULL_OVER: _pull_over,
    }
    if task not in makers:
        raise ValueError(f"unknown driving task {task!r}; choose one of {TASKS}")
    return makers[task](road, rng)


def _ego(road: Road, lane: int, rng: np.random.Generator) -> EgoState:
    return EgoState(
        x=0.0,
        y=road.lane_y(lane) + rng.uniform(-0.3, 0.3),
        yaw=rng.uniform(-0.01, 0.01),
        speed=rng.uniform(8, 12),
    )


def _stopped(
    kind: ObjectClass, road: Road, lane: int, x: float, rng: np.random.Generator, colour: str | None = None
) -> Actor:
    return Actor.draw(kind, rng, x, road.lane_y(lane), lane, colour)


def _add_traffic(
    actors: list[Actor],
    road: Road,
    rng: np.random.Generator,
    count: int,
    ego_lane: int,
    avoid: frozenset[str] = frozenset(),
) -> None:
    """Append up to `count` moving vehicles: never behind a stopped actor in their lane, never close to
    another actor in their lane, never right around the ego; colours in `avoid` are not used."""
    for _ in range(count * 10):
        if count == 0:
            return
        lane = int(rng.integers(road.lanes))
        behind = rng.random() < 0.3 and lane != ego_lane
        x = rng.uniform(-45, -15) if behind else rng.uniform(15, 140)
        if lane == ego_lane and x < 25:
            continue
        same_lane = [a for a in actors if a.lane == lane]
        if any(a.static and a.x > x - 15 for a in same_lane) or any(abs(a.x - x) < 25 for a in same_lane):
            continue
        kind = TRUCK if rng.random() < 0.2 else CAR
        colour = str(rng.choice([c for c in kind.colours if c not in avoid]))
        speed = rng.uniform(12, 15) if behind else rng.uniform(9, 14)
        actors.append(_stopped(kind, road, lane, x, rng, colour).drive(speed))
        count -= 1


def _other_lane(road: Road, lane: int, rng: np.random.Generator) -> int:
    return int(rng.choice([i for i in range(road.lanes) if i != lane]))


def _lane_keep(road: Road, rng: np.random.Generator) -> Scenario:
    """The first obstacle blocks the ego's lane half the time and another lane otherwise, so where it
    stands must be seen: a blind policy, whether it moves over or keeps its lane, often drives into it."""
    lane = int(rng.integers(road.lanes))
    blocked = lane if rng.random() < BLOCKED_CHANCE else _other_lane(road, lane, rng)
    kind = [TRUCK, CAR, BARRIER, PEDESTRIAN][int(rng.integers(4))]
    first = rng.uniform(35, 55)
    actors = [_stopped(kind, road, blocked, first, rng)]
    last = first
    if rng.random() < 0.5:
        other = _other_lane(road, blocked, rng)
        last = first + rng.uniform(50, 70)
        actors.append(_stopped([TRUCK, CAR, BARRIER][int(rng.integers(3))], road, other, last, rng))
    _add_traffic(actors, road, rng, int(rng.integers(2, 5)), lane)
    path = "blocked" if any(a.lane == lane for a in actors if a.static) else "clear"
    return Scenario(LANE_KEEP, _ego(road, lane, rng), actors, Goal(LANE_KEEP, finish_x=last + 30), path)


def _change_lane(road: Road, rng: np.random.Generator) -> Scenario:
    lane = int(rng.integers(road.lanes))
    moves = [(d, lane + s) for d, s in (("left", 1), ("right", -1)) if 0 <= lane + s < road.lanes]
    direction, target = moves[int(rng.integers(len(moves)))]
    actors: list[Actor] = []
    if rng.random() < 0.6:  # someone in the target lane near the ego: wait for a gap
        actors.append(_stopped(CAR, road, target, rng.uniform(-20, 25), rng).drive(rng.uniform(9, 13)))
    _add_traffic(actors, road, rng, int(rng.integers(1, 4)), lane)
    return Scenario(
        CHANGE_LANE, _ego(road, lane, rng), actors, Goal(CHANGE_LANE, target, direction=direction)
    )


def _stop_behind(road: Road, rng: np.random.Generator) -> Scenario:
    lane = int(rng.integers(road.lanes))
    target_lane, other_lane = (int(i) for i in rng.choice(road.lanes, 2, replace=False))
    colour, other_colour = (str(c) for c in rng.choice(CAR_COLOURS, 2, replace=False))
    target_x = rng.uniform(40, 60)
    # the other stopped car never stands in a lane the ego must cross before it reaches the target
    in_the_way = min(lane, target_lane) < other_lane < max(lane, target_lane)
    side = 1 if in_the_way else rng.choice([-1, 1])
    actors = [
        _stopped(CAR, road, target_lane, target_x, rng, colour),
        _stopped(CAR, road, other_lane, target_x + side * rng.uniform(8, 20), rng, other_colour),
    ]
    _add_traffic(actors, road, rng, int(rng.integers(1, 4)), lane, avoid=frozenset({colour}))
    return Scenario(STOP_BEHIND, _ego(road, lane, rng), actors, Goal(STOP_BEHIND, target_lane, target=0))


def _pull_over(road: Road, rng: np.random.Generator) -> Scenario:
    truck_x = rng.uniform(45, 65)
    actors = [_stopped(TRUCK, road, SHOULDER, truck_x, rng)]
    if rng.random() < 0.6:  # something else parked on the shoulder before the truck
        kind = CAR if rng.random() < 0.7 else PEDESTRIAN
        actors.append(_stopped(kind, road, SHOULDER, truck_x - rng.uniform(18, 30), rng))
    lane = int(rng.integers(min(2, road.lanes)))
    _add_traffic(actors, road, rng, int(rng.integers(1, 4)), lane)
    return Scenario(PULL_OVER, _ego(road, lane, rng), actors, Goal(PULL_OVER, SHOULDER, target=0))
