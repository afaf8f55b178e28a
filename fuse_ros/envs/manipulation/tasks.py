"""The four tasks, FuSe's analogs: what an episode places, which thing is the target, and when it succeeds.

- grasp: pick one object among distractors on the open table.
- occluded_grasp: the target sits in an opaque bin in a dark room; the third-person camera sees nothing.
- button: press the button that plays a named tone; buttons may look identical (press, listen, decide).
- compositional: pick the object that has the colour of the button playing a named tone (and so on).

Scenes often hold a *twin* of the target: the same shape and colour, a different feel or sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objects import BUTTON_GREY, Catalog, ObjectKind
from .scene import Layout, PlacedButton, PlacedObject

TASK_NAMES = ("grasp", "occluded_grasp", "button", "compositional")
MAX_STEPS = {"grasp": 120, "occluded_grasp": 120, "button": 80, "compositional": 160}
LIFT = 0.08  # an object counts as picked once raised this far (m): the target succeeds, another fails
HOLD_STEPS = 8  # control steps a button must stay pressed to count as chosen; the expert's tap stays 3
# (a hesitation of a step or two at a tap must not choose; the tone is still in the 1 s microphone window)
PRESSED = 0.25  # fraction of its travel at which a button clicks (a press that stops short still counts)
BIN_XY = (0.0, 0.0)
TWIN_CHANCE = 0.5
JITTER = 0.005
GRASP_ANCHORS = [(x, y) for x in (-0.11, 0.0, 0.11) for y in (-0.13, 0.0, 0.13)]
COMPOSITIONAL_ANCHORS = [(0.1, y) for y in (-0.13, 0.0, 0.13)]


@dataclass(frozen=True)
class Episode:
    """One sampled episode. `target` indexes the layout's objects (or its buttons, in the button task);
    `cue` is the button whose colour names the target in the compositional task."""

    task: str
    layout: Layout
    target: int
    cue: int | None = None

    @property
    def target_is_button(self) -> bool:
        return self.task == "button"


def _kinds(rng: np.random.Generator, catalog: Catalog, n: int, twin: bool) -> list[ObjectKind]:
    """`n` different kinds; with `twin`, the second shares the first one's shape."""
    kinds = list(catalog.kinds)
    first = kinds.pop(int(rng.integers(len(kinds))))
    chosen = [first]
    if twin:
        same_shape = [k for k in kinds if k.shape == first.shape]
        chosen.append(same_shape[int(rng.integers(len(same_shape)))])
        kinds.remove(chosen[-1])
    rest = rng.permutation(len(kinds))[: n - len(chosen)]
    return chosen + [kinds[i] for i in rest]


def _objects(
    rng: np.random.Generator, catalog: Catalog, spots: list, colours: list | None = None, yaw: float = 0.7
) -> tuple[PlacedObject, ...]:
    """Objects at the given spots (jittered); object 0 is the target, object 1 maybe its twin."""
    twin = rng.random() < TWIN_CHANCE
    kinds = _kinds(rng, catalog, len(spots), twin)
    if colours is None:
        colours = [catalog.colours[int(i)] for i in rng.integers(len(catalog.colours), size=len(spots))]
    if twin:
        colours[1] = colours[0]
    return tuple(
        PlacedObject(
            kind, colour, tuple(np.add(spot, rng.uniform(-JITTER, JITTER, 2))), rng.uniform(-yaw, yaw)
        )
        for kind, colour, spot in zip(kinds, colours, spots, strict=True)
    )


def _pick(rng: np.random.Generator, anchors: list, n: int) -> list:
    return [anchors[i] for i in rng.permutation(len(anchors))[:n]]


def _shuffled(rng: np.random.Generator, items: tuple) -> tuple[tuple, int]:
    """The items in random order, and where the first one went."""
    order = rng.permutation(len(items))
    return tuple(items[i] for i in order), int(np.argmin(order))


def _grasp(rng: np.random.Generator, catalog: Catalog) -> Episode:
    spots = _pick(rng, GRASP_ANCHORS, int(rng.integers(3, 5)))
    objects, target = _shuffled(rng, _objects(rng, catalog, spots))
    return Episode("grasp", Layout(objects), target)


def _occluded_grasp(rng: np.random.Generator, catalog: Catalog) -> Episode:
    """Two objects in the bin (the target and often its twin), one outside, the lights down."""
    inside = _pick(rng, [(BIN_XY[0] + dx, BIN_XY[1]) for dx in (-0.045, 0.045)], 2)
    outside = _pick(rng, [(0.0, -0.19), (0.0, 0.19)], 1)
    objects, target = _shuffled(rng, _objects(rng, catalog, inside + outside, yaw=0.2))
    return Episode("occluded_grasp", Layout(objects, bin_xy=BIN_XY, dark=True), target)


def _buttons(rng: np.random.Generator, catalog: Catalog, n: int, xs: tuple, identical: bool) -> tuple:
    tones = [catalog.tones[i] for i in rng.permutation(len(catalog.tones))[:n]]
    colours = (
        [BUTTON_GREY] * n
        if identical
        else [catalog.colours[i] for i in rng.permutation(len(catalog.colours))[:n]]
    )
    ys = np.linspace(-0.1, 0.1, n) if n == 3 else np.array([-0.08, 0.08])
    return tuple(
        PlacedButton(colour, tone, (x, y + rng.uniform(-JITTER, JITTER)))
        for colour, tone, x, y in zip(colours, tones, xs, ys, strict=True)
    )


def _button(rng: np.random.Generator, catalog: Catalog) -> Episode:
    n = int(rng.integers(2, 4))
    x = rng.uniform(-0.05, 0.05)
    buttons = _buttons(rng, catalog, n, (x,) * n, identical=rng.random() < 0.5)
    return Episode("button", Layout(buttons=buttons), int(rng.integers(n)))


def _compositional(rng: np.random.Generator, catalog: Catalog) -> Episode:
    """Two buttons of different colours at the back; in front, the target in the cue button's colour,
    an object in the other button's colour, and a third object (often the target's twin)."""
    buttons = _buttons(rng, catalog, 2, (-0.1, -0.1), identical=False)
    cue = int(rng.integers(2))
    third = catalog.colours[int(rng.integers(len(catalog.colours)))]
    colours = [buttons[cue].colour, third, buttons[1 - cue].colour]
    placed = _objects(rng, catalog, _pick(rng, COMPOSITIONAL_ANCHORS, 3), colours)
    objects, target = _shuffled(rng, placed)
    return Episode("compositional", Layout(objects, buttons), target, cue)


SAMPLERS = {
    "grasp": _grasp,
    "occluded_grasp": _occluded_grasp,
    "button": _button,
    "compositional": _compositional,
}


def sample_episode(task: str, rng: np.random.Generator, catalog: Catalog) -> Episode:
    if task not in SAMPLERS:
        raise ValueError(f"unknown manipulation task {task!r}; choose one of {TASK_NAMES}")
    return SAMPLERS[task](rng, catalog)
