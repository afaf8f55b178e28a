"""How a policy presses buttons, closed loop: which button, for how many steps, and why episodes time out.

A button episode ends by holding one button for HOLD_STEPS; the expert taps the look-alikes and holds the
named one. A policy that chooses right but lets go too soon times out with the right button pressed, which
success counts and `endings` alone do not tell apart from never finding it.

    python -m fuse_ros.train.presses <checkpoint> [--episodes 40] [--split train]
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

from fuse_ros.data.record import ending
from fuse_ros.envs import make
from fuse_ros.envs.manipulation.language import instructed_variants


@dataclass(frozen=True)
class Presses:
    """One episode: the target, each press as (button, steps held), and how it ended."""

    target: int
    presses: list[tuple[int, int]]
    end: str  # success, failed (a wrong button chosen) or timeout
    tone: str = ""  # what the target plays (unseen tones are where a policy must generalise)

    @property
    def kind(self) -> str:
        if self.end != "timeout":
            return self.end
        if not self.presses:
            return "timeout, nothing pressed"
        if any(button == self.target for button, _ in self.presses):
            return "timeout, target pressed but let go"
        return "timeout, target never pressed"


def press_episode(env, actor, seed: int, variant: str) -> Presses:
    """Run one button episode and read the buttons' hold counters after every step."""
    obs, _ = env.reset(seed=seed, options={"variant": variant})
    actor.reset()
    sim, presses, current, done = env.unwrapped, [], {}, False
    while not done:
        obs, _, terminated, truncated, info = env.step(actor.act(obs))
        done = terminated or truncated
        for button, steps in enumerate(sim.held):
            if steps == 1:  # a new press
                current[button] = len(presses)
                presses.append((button, 1))
            elif steps > 1:
                presses[current[button]] = (button, int(steps))
    target = sim.episode.target
    tone = sim.episode.layout.buttons[target].tone
    return Presses(target, presses, ending([info["success"]], terminated, info), tone)


def press_report(env, actor, episodes: int, seed: int = 1000) -> list[Presses]:
    """`episodes` episodes of a button env from `seed` on, through the instructed variants in turn (as
    fuse-eval runs them)."""
    variants = instructed_variants("button")
    return [press_episode(env, actor, seed + i, variants[i % len(variants)]) for i in range(episodes)]


def main() -> None:
    from fuse_ros.runtime.actor import RuntimeActor

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    env = make("button", split=args.split)
    try:
        report = press_report(env, RuntimeActor.load("torch", args.checkpoint), args.episodes)
    finally:
        env.close()
    for i, episode in enumerate(report):
        print(
            f"episode {i}: target {episode.target} ({episode.tone}), presses {episode.presses}, {episode.end}"
        )
    print(dict(Counter(e.kind for e in report)))
    tones = Counter(e.tone for e in report)
    won = Counter(e.tone for e in report if e.end == "success")
    print("success by the target's tone:", ", ".join(f"{t} {won[t]}/{n}" for t, n in sorted(tones.items())))


if __name__ == "__main__":
    main()
