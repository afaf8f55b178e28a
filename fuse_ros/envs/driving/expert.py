"""The scripted driver that makes demonstrations. It reads the simulator's state (privileged: exact
positions, the goal), picks a lane one change at a time when the gap is safe, steers by pure pursuit and
sets its speed with the Intelligent Driver Model against whatever lies on its predicted path."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .actors import Actor
from .geometry import STOPPED_BELOW
from .road import SHOULDER
from .tasks import LANE_KEEP, PULL_OVER, STOP_BEHIND
from .traffic import IDM

if TYPE_CHECKING:
    from .env import DrivingEnv

CRUISE = 12.0  # m/s
WAIT_SPEED = 7.0  # m/s while waiting for a gap: lets faster traffic in the next lane go by
LOOKAHEAD = 8.0  # m, shortest pure-pursuit lookahead
STANDOFF = 10.0  # m kept free before an obstacle the expert means to drive around
BLOCK_HORIZONS = (20.0, 40.0)  # m: a stopped object this close ahead makes its lane blocked; drawn per
# episode, so that the demonstrations also turn late: a policy that has not turned yet at 30 m has seen what
# to do there (one fixed distance leaves it only states where the expert has already turned)
PULL_OVER_STOP = 30.0  # m past the truck's front where the ego's front stops
LANE_CHANGE_ROOM = 20.0  # m per lane to change: enough to move over from a standstill and line up
APPROACH_SPEED = 8.0  # m/s when about to stop: room and time to line up


class DrivingExpert:
    """The horizon (how near a stopped object makes its lane blocked) is drawn per episode; an `eager`
    expert always uses the longest (40 m), so when it moves over depends only on what can be sensed: the
    labels of `fuse-generate late_driver=true`, recorded while a drawn-horizon expert drives."""

    def __init__(self, env: DrivingEnv, eager: bool = False):
        self.env, self.eager = env, eager
        self.idm = IDM(max_accel=2.0, comfort_brake=2.5, min_gap=3.0, headway=1.2, max_brake=7.0)
        self.lane: int | None = None  # the lane the expert is driving in or changing into
        self.horizon = BLOCK_HORIZONS[1]

    def reset(self) -> None:
        """Call after the env's reset: the horizon is drawn from its seeded generator (the scene is
        already drawn, so it stays the same)."""
        self.lane = None
        if not self.eager:
            self.horizon = float(self.env.np_random.uniform(*BLOCK_HORIZONS))

    def act(self, obs: dict | None = None) -> np.ndarray:
        """[steer, accel] in [-1, 1] for the simulator's current state (`obs` is not needed)."""
        env = self.env
        ego, road = env.ego, env.road
        if self.lane is None:
            self.lane = road.lane_at(ego.y)
        wanted = self._wanted_lane()
        settled = abs(ego.y - road.lane_y(self.lane)) < 0.8
        while wanted != self.lane and settled:  # move over as many lanes as are free now
            step = self.lane + int(np.sign(wanted - self.lane))
            if not self._safe(step):
                break
            self.lane = step
        target_y = road.lane_y(self.lane)
        lookahead = max(LOOKAHEAD, ego.speed)
        steer = self._steer(target_y, lookahead)
        speed = CRUISE if wanted == self.lane else WAIT_SPEED
        if env.goal.task == STOP_BEHIND or (
            env.goal.task == PULL_OVER and env.actors[env.goal.target].front - ego.x < 70
        ):
            speed = min(speed, APPROACH_SPEED)
        accel = self._accel(target_y, lookahead, speed)
        limits = env.limits
        return np.array(
            [steer / limits.max_steer, accel / (limits.max_accel if accel >= 0 else limits.max_brake)],
            np.float32,
        ).clip(-1, 1)

    # --- where to drive -----------------------------------------------------------------------------
    def _in_lane(self, actor: Actor, lane: int) -> bool:
        band = (actor.size[1] + self.env.limits.width) / 2 + 0.3
        return abs(actor.y - self.env.road.lane_y(lane)) < band

    def _clearance(self, lane: int) -> float:
        """Distance ahead to the first stopped object in `lane` (inf if none within the horizon)."""
        ego = self.env.ego
        front = ego.x + self.env.limits.length / 2
        gaps = [
            a.rear - front
            for a in self.env.actors
            if a.speed < STOPPED_BELOW and a.front > front and self._in_lane(a, lane)
        ]
        near = [g for g in gaps if g < self.horizon]
        return min(near) if near else np.inf

    def _wanted_lane(self) -> int:
        env, goal = self.env, self.env.goal
        if goal.task == PULL_OVER:
            past = env.ego.x - env.limits.length / 2 > env.actors[goal.target].front + 3.0
            return SHOULDER if past else 0
        if goal.task != LANE_KEEP:
            return goal.lane
        if np.isinf(self._clearance(self.lane)):
            return self.lane
        options = [lane for lane in (self.lane - 1, self.lane + 1) if 0 <= lane < env.road.lanes]
        best = max(options, key=self._clearance)
        return best if self._clearance(best) > self._clearance(self.lane) else self.lane

    def _safe(self, lane: int) -> bool:
        """Whether there is room to move into `lane` now, given everyone's speeds."""
        ego, length = self.env.ego, self.env.limits.length
        for actor in self.env.actors:
            if not self._in_lane(actor, lane):
                continue
            centre_gap = actor.x - ego.x
            gap = abs(centre_gap) - (actor.size[0] + length) / 2
            if centre_gap >= 0:
                need = 5.0 + max(0.0, ego.speed - actor.speed) * 2.0
                if actor.speed < STOPPED_BELOW:
                    need = max(need, 5.0 + ego.speed**2 / 6.0)
            else:
                need = 5.0 + max(0.0, actor.speed - ego.speed) * 3.0
            if gap < need:
                return False
        return True

    # --- how to drive there -------------------------------------------------------------------------
    def _steer(self, target_y: float, lookahead: float) -> float:
        """Pure pursuit towards a point `lookahead` metres ahead on the target lane's centre line."""
        ego = self.env.ego
        heading = np.clip(np.arctan2(target_y - ego.y, lookahead), -0.3, 0.3)
        curvature = 2 * np.sin(heading - ego.yaw) / lookahead
        return float(np.arctan(curvature * self.env.limits.wheelbase))

    def _accel(self, target_y: float, lookahead: float, desired: float) -> float:
        """IDM against the nearest object on the predicted path (and the pull-over stopping point)."""
        env, ego = self.env, self.env.ego
        front = ego.x + env.limits.length / 2
        accel = self.idm.accel(ego.speed, desired, np.inf, 0.0)
        for i, actor in enumerate(env.actors):
            gap = actor.rear - front
            if actor.x < ego.x:
                continue
            path_y = target_y + (ego.y - target_y) * np.exp(-max(gap, 0.0) / lookahead)
            if abs(actor.y - path_y) >= (actor.size[1] + env.limits.width) / 2 + 0.3:
                continue
            is_target = env.goal.task == STOP_BEHIND and i == env.goal.target
            if actor.static and not is_target:
                if gap > self.horizon:  # not yet a blocked lane (`_clearance`): braking for it now
                    continue  # would tell the policy, in its speed, what only its senses should
                gap -= STANDOFF
            accel = min(accel, self.idm.accel(ego.speed, desired, gap, ego.speed - actor.speed))
        stop = self._stop_line()
        if stop is not None:
            accel = min(accel, self.idm.accel(ego.speed, desired, stop - front + self.idm.min_gap, ego.speed))
        return accel

    def _stop_line(self) -> float | None:
        """Where the ego's front must stop, besides behind things on its path: past the truck on the
        shoulder when pulling over, and short of the named car while not yet in its lane (so as not to
        pass it; the lane change then starts from there)."""
        goal, target = self.env.goal, self.env.actors[self.env.goal.target]
        if goal.task == PULL_OVER and self.lane == SHOULDER:
            return target.front + PULL_OVER_STOP
        if goal.task == STOP_BEHIND and self.lane != goal.lane:
            return target.rear - LANE_CHANGE_ROOM * abs(goal.lane - self.lane)
        return None
