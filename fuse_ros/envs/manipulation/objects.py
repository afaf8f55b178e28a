"""What the manipulation world is made of: shapes, colours, object kinds, button tones, and the split.

An object's *look* is its shape and colour; its *feel* (texture, compliance) and its *sound* (material)
are invisible to a camera. Kinds of the same shape painted the same colour look identical and differ only
in touch or sound. The "unseen" split holds kinds, colours, a material and tones never used in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from .audio import MATERIALS

TEXTURES = ("smooth", "rough", "ridged")
COMPLIANCES = ("soft", "hard")
SPLITS = ("train", "unseen")


@dataclass(frozen=True)
class Shape:
    """A geometry every kind of this shape shares (so that same-coloured kinds look alike)."""

    name: str
    geom: mujoco.mjtGeom
    size: tuple[float, ...]  # MuJoCo geom size
    half_height: float  # resting height of the centre above the table
    half_width: float  # half the extent the fingers close across


SHAPES = {
    "cube": Shape("cube", mujoco.mjtGeom.mjGEOM_BOX, (0.022, 0.022, 0.022), 0.022, 0.022),
    "ball": Shape("ball", mujoco.mjtGeom.mjGEOM_SPHERE, (0.024, 0.0, 0.0), 0.024, 0.024),
    "cylinder": Shape("cylinder", mujoco.mjtGeom.mjGEOM_CYLINDER, (0.02, 0.03, 0.0), 0.03, 0.02),
}


@dataclass(frozen=True)
class Colour:
    name: str
    rgba: tuple[float, float, float, float]


@dataclass(frozen=True)
class ObjectKind:
    """A graspable object: `noun` names it, the rest says how it looks, feels and sounds."""

    noun: str
    shape: str
    texture: str
    compliance: str
    material: str  # a key of audio.MATERIALS

    def __post_init__(self) -> None:
        for field, value, allowed in (
            ("shape", self.shape, SHAPES),
            ("texture", self.texture, TEXTURES),
            ("compliance", self.compliance, COMPLIANCES),
            ("material", self.material, MATERIALS),
        ):
            if value not in allowed:
                raise ValueError(
                    f"object kind {self.noun!r}: {field} {value!r} is not one of {sorted(allowed)}"
                )


@dataclass(frozen=True)
class Catalog:
    """Everything one split may place in a scene."""

    kinds: tuple[ObjectKind, ...]
    colours: tuple[Colour, ...]
    tones: tuple[str, ...]  # keys of audio.TONES


def _colours(*named: tuple[str, tuple[float, float, float]]) -> tuple[Colour, ...]:
    return tuple(Colour(name, (*rgb, 1.0)) for name, rgb in named)


CATALOGS = {
    "train": Catalog(
        kinds=(
            ObjectKind("wooden block", "cube", "smooth", "hard", "wood"),
            ObjectKind("sponge", "cube", "rough", "soft", "foam"),
            ObjectKind("plastic brick", "cube", "ridged", "hard", "plastic"),
            ObjectKind("rubber ball", "ball", "smooth", "soft", "rubber"),
            ObjectKind("steel ball", "ball", "smooth", "hard", "metal"),
            ObjectKind("golf ball", "ball", "rough", "hard", "plastic"),
            ObjectKind("tin can", "cylinder", "ridged", "hard", "metal"),
            ObjectKind("foam roller", "cylinder", "ridged", "soft", "foam"),
            ObjectKind("candle", "cylinder", "smooth", "hard", "wood"),
        ),
        colours=_colours(
            ("red", (0.85, 0.15, 0.12)),
            ("green", (0.15, 0.7, 0.2)),
            ("blue", (0.15, 0.3, 0.85)),
            ("yellow", (0.9, 0.8, 0.15)),
            ("white", (0.92, 0.92, 0.92)),
        ),
        tones=("high chime", "low chime", "piano", "buzzer"),
    ),
    "unseen": Catalog(
        kinds=(
            ObjectKind("stress ball", "ball", "rough", "soft", "foam"),
            ObjectKind("glass marble", "ball", "smooth", "hard", "glass"),
            ObjectKind("brass weight", "cube", "ridged", "hard", "metal"),
            ObjectKind("rubber eraser", "cube", "smooth", "soft", "rubber"),
            ObjectKind("glass jar", "cylinder", "smooth", "hard", "glass"),
            ObjectKind("cork", "cylinder", "rough", "soft", "wood"),
        ),
        colours=_colours(
            ("purple", (0.55, 0.2, 0.75)),
            ("orange", (0.95, 0.5, 0.1)),
            ("cyan", (0.1, 0.75, 0.8)),
        ),
        tones=("whistle", "gong", "high chime"),
    ),
}

# Buttons are all the same shape; `BUTTON_GREY` is the colour of buttons that only their sound tells apart.
BUTTON_GREY = Colour("grey", (0.55, 0.55, 0.58, 1.0))


def catalog(split: str) -> Catalog:
    if split not in CATALOGS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    return CATALOGS[split]
