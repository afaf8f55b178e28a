"""The MuJoCo world: a fixed template plus pools of object and button slots, arranged per episode.

One model serves every episode: `Scene.arrange` moves the slots a layout needs onto the table, gives them
their colour and softness, and parks the rest out of the way (weightless, untouchable, invisible). So
resets cost no recompilation and one renderer serves the whole life of the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from fuse_ros.paths import sim_asset

from .audio import TONES
from .objects import SHAPES, Colour, ObjectKind

SLOTS_PER_SHAPE = 3
BUTTON_SLOTS = 3
BUTTON_TRAVEL = 0.012  # how far a button cap can be pushed down (m)
FINGER_RANGE = 0.04  # finger joint travel from closed to open (m)
OBJECT_MASS = 0.08
# Contact solref and solimp per compliance: soft objects give way by a few millimetres under a grip.
SOFTNESS = {"hard": ((0.01, 1.0), (0.95, 0.99, 0.001)), "soft": ((0.04, 1.0), (0.5, 0.95, 0.005))}
GRIPPER_JOINTS = ("x", "y", "z", "yaw", "pitch", "roll")
PARKED_BIN = (0.0, 3.0, 0.0)  # unused things wait far from the table (y = 3 m and more)
PARKED_BUTTONS_Y = 3.5
PARKED_OBJECTS_Y = -3.0
FELT, HIDDEN = 2, 5  # geom groups: what the fingertip sensors feel; what neither cameras nor sensors see

# Who a geom belongs to, for contact bookkeeping (object geoms map to their index in the layout, >= 0).
GRIPPER, TABLE, WALL, BUTTON, NOBODY = -1, -2, -3, -4, -5


@dataclass(frozen=True)
class PlacedObject:
    kind: ObjectKind
    colour: Colour
    xy: tuple[float, float]
    yaw: float = 0.0


@dataclass(frozen=True)
class PlacedButton:
    colour: Colour
    tone: str  # a key of audio.TONES
    xy: tuple[float, float]

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"button tone {self.tone!r} is unknown; choose one of {sorted(TONES)}")


@dataclass(frozen=True)
class Layout:
    """What one episode puts where. `bin_xy` places the opaque bin; `dark` dims the lights."""

    objects: tuple[PlacedObject, ...] = ()
    buttons: tuple[PlacedButton, ...] = ()
    bin_xy: tuple[float, float] | None = None
    dark: bool = False


@dataclass
class Contacts:
    """Who touches whom after a control step, and how hard (normal force, N)."""

    pad_force: np.ndarray  # (2,) left, right
    pad_touches: list[set[int]]  # per pad: geom ids of the objects it touches
    partners: list[set[int]]  # per layout object: the owners (see GRIPPER...) or objects it touches
    object_force: np.ndarray  # per layout object: the total normal force on it


def _build_model() -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_file(str(sim_asset("manipulation", "scene.xml")))
    for shape in SHAPES.values():
        for k in range(SLOTS_PER_SHAPE):
            body = spec.worldbody.add_body(name=f"{shape.name}_{k}", pos=[0, PARKED_OBJECTS_Y, 0.5])
            body.add_freejoint(name=f"{shape.name}_{k}")
            body.add_geom(
                name=f"{shape.name}_{k}", type=shape.geom, size=list(shape.size), mass=OBJECT_MASS, group=FELT
            )
    for k in range(BUTTON_SLOTS):
        housing = spec.worldbody.add_body(name=f"button_{k}", pos=[0.1 * k, PARKED_BUTTONS_Y, 0])
        housing.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.03, 0.01], pos=[0, 0, 0.01])
        cap = housing.add_body(name=f"cap_{k}", pos=[0, 0, 0.02])
        cap.add_joint(
            name=f"cap_{k}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1],
            range=[-BUTTON_TRAVEL, 0], stiffness=300, damping=3,
        )  # fmt: skip
        cap.add_geom(
            name=f"cap_{k}", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[0.02, 0.009, 0], pos=[0, 0, 0.011],
            mass=0.02,
        )  # fmt: skip
        spec.add_exclude(bodyname1=f"button_{k}", bodyname2=f"cap_{k}")  # the cap slides into it
    return spec.compile()


class Scene:
    """The model, its data, and the ids the environment needs."""

    def __init__(self) -> None:
        self.model = m = _build_model()
        self.data = mujoco.MjData(m)
        self.gripper_qpos = np.array([m.joint(j).qposadr[0] for j in GRIPPER_JOINTS])
        self.finger_qpos = np.array([m.joint(f"finger_{s}").qposadr[0] for s in ("left", "right")])
        self.pads = np.array([m.geom(f"pad_{s}").id for s in ("left", "right")])
        self.slots = {s: [m.body(f"{s}_{k}").id for k in range(SLOTS_PER_SHAPE)] for s in SHAPES}
        self.buttons = [m.body(f"button_{k}").id for k in range(BUTTON_SLOTS)]
        self.cap_qpos = np.array([m.joint(f"cap_{k}").qposadr[0] for k in range(BUTTON_SLOTS)])
        self.bin = m.body("bin").id
        self.owner = np.full(m.ngeom, NOBODY)
        self.owner[m.body_rootid[m.geom_bodyid] == m.body("ee_x").id] = GRIPPER
        self.owner[m.geom_bodyid == m.body("bin").id] = WALL
        self.owner[m.geom("table").id] = TABLE
        self.caps = [m.body(f"cap_{k}").id for k in range(BUTTON_SLOTS)]
        self.owner[np.isin(m.geom_bodyid, self.buttons + self.caps)] = BUTTON
        self._light = m.light_diffuse.copy()
        self._headlight = (m.vis.headlight.ambient.copy(), m.vis.headlight.diffuse.copy())
        self.layout = Layout()
        self.object_bodies: list[int] = []
        self.object_geoms: list[int] = []

    # --- arranging an episode -------------------------------------------------------------------
    def arrange(self, layout: Layout, home: np.ndarray) -> None:
        """Reset the physics and place `layout`; the gripper starts open at `home` (x, y, z, yaw)."""
        m, d = self.model, self.data
        counts = {s: sum(o.kind.shape == s for o in layout.objects) for s in SHAPES}
        if max(counts.values()) > SLOTS_PER_SHAPE or len(layout.buttons) > BUTTON_SLOTS:
            raise ValueError(
                f"a layout holds at most {SLOTS_PER_SHAPE} objects of each shape and {BUTTON_SLOTS} buttons;"
                f" got {counts} and {len(layout.buttons)} buttons"
            )
        mujoco.mj_resetData(m, d)
        self.layout = layout
        self.object_bodies, self.object_geoms = [], []
        self.owner[self.owner >= 0] = NOBODY
        used = {s: 0 for s in SHAPES}
        for index, placed in enumerate(layout.objects):
            shape = SHAPES[placed.kind.shape]
            body = self.slots[shape.name][used[shape.name]]
            used[shape.name] += 1
            self._activate(body, placed, shape.half_height)
            self.object_bodies.append(body)
            self.object_geoms.append(m.body_geomadr[body])
            self.owner[m.body_geomadr[body]] = index
        for shape, bodies in self.slots.items():
            for body in bodies[used[shape] :]:
                self._park(body)
        for k, (body, cap) in enumerate(zip(self.buttons, self.caps, strict=True)):
            if k < len(layout.buttons):
                m.body_pos[body] = (*layout.buttons[k].xy, 0.0)
                m.geom_rgba[m.body_geomadr[cap]] = layout.buttons[k].colour.rgba
            else:
                m.body_pos[body] = (0.1 * k, PARKED_BUTTONS_Y, 0.0)
        m.body_pos[self.bin] = (*layout.bin_xy, 0.0) if layout.bin_xy else PARKED_BIN
        self._set_lights(layout.dark)
        d.qpos[self.gripper_qpos[:4]] = home
        d.qpos[self.finger_qpos] = FINGER_RANGE
        d.ctrl[:] = np.r_[home, 0.0, 0.0, FINGER_RANGE, FINGER_RANGE]
        mujoco.mj_forward(m, d)

    def _activate(self, body: int, placed: PlacedObject, height: float) -> None:
        m, d = self.model, self.data
        geom, adr = m.body_geomadr[body], m.jnt_qposadr[m.body_jntadr[body]]
        turn = (np.cos(placed.yaw / 2), 0.0, 0.0, np.sin(placed.yaw / 2))
        d.qpos[adr : adr + 7] = (*placed.xy, height + 0.001, *turn)
        m.geom_rgba[geom] = placed.colour.rgba
        m.geom_group[geom] = FELT
        m.geom_solref[geom], m.geom_solimp[geom, :3] = SOFTNESS[placed.kind.compliance]
        m.geom_contype[geom] = m.geom_conaffinity[geom] = 1
        m.body_gravcomp[body] = 0.0

    def _park(self, body: int) -> None:
        """Out of sight and reach: weightless, untouchable, invisible."""
        m, d = self.model, self.data
        geom, adr = m.body_geomadr[body], m.jnt_qposadr[m.body_jntadr[body]]
        d.qpos[adr : adr + 7] = (0.1 * body, PARKED_OBJECTS_Y, 0.5, 1, 0, 0, 0)
        m.geom_group[geom] = HIDDEN
        m.geom_contype[geom] = m.geom_conaffinity[geom] = 0
        m.body_gravcomp[body] = 1.0

    def _set_lights(self, dark: bool) -> None:
        scale = 0.12 if dark else 1.0
        self.model.light_diffuse[:] = scale * self._light
        self.model.vis.headlight.ambient[:] = scale * self._headlight[0]
        self.model.vis.headlight.diffuse[:] = scale * self._headlight[1]

    # --- stepping and reading -------------------------------------------------------------------
    def step(self, ctrl: np.ndarray, substeps: int) -> None:
        self.data.ctrl[:] = ctrl
        mujoco.mj_step(self.model, self.data, nstep=substeps)

    @property
    def gripper_pose(self) -> np.ndarray:
        """x, y, z, yaw, pitch, roll of the palm."""
        return self.data.qpos[self.gripper_qpos]

    @property
    def opening(self) -> float:
        """How far the fingers are open, 0 (closed) to 1 (open)."""
        return float(self.data.qpos[self.finger_qpos].mean() / FINGER_RANGE)

    def object_pos(self, index: int) -> np.ndarray:
        return self.data.xpos[self.object_bodies[index]]

    def object_velocity(self, index: int) -> np.ndarray:
        body = self.object_bodies[index]
        dof = self.model.jnt_dofadr[self.model.body_jntadr[body]]
        return self.data.qvel[dof : dof + 3]

    def object_yaw(self, index: int) -> float:
        mat = self.data.xmat[self.object_bodies[index]]
        return float(np.arctan2(mat[3], mat[0]))

    def button_depth(self) -> np.ndarray:
        """How far each placed button is pushed in, 0 (up) to 1 (fully down)."""
        n = len(self.layout.buttons)
        return -self.data.qpos[self.cap_qpos[:n]] / BUTTON_TRAVEL

    def contacts(self) -> Contacts:
        """Sum the normal forces per object and per pad (the elliptic cone's first row is the normal)."""
        d, n = self.data, len(self.layout.objects)
        address = d.contact.efc_address[: d.ncon]
        active = address >= 0  # excluded contacts have no constraint row
        forces = np.zeros(d.ncon)
        forces[active] = np.abs(d.efc_force[address[active]])
        forces = np.repeat(forces, 2)
        geoms = d.contact.geom[: d.ncon]
        geom, other_geom = geoms.ravel(), geoms[:, ::-1].ravel()  # each contact seen from both sides
        owner, other = self.owner[geom], self.owner[other_geom]
        mine = owner >= 0
        partners = [set() for _ in range(n)]
        for code in np.unique(owner[mine] * 16 + other[mine] - NOBODY):  # distinct (owner, other) pairs
            partners[code // 16].add(int(code % 16 + NOBODY))
        summary = Contacts(np.zeros(2), [set(), set()], partners, np.bincount(owner[mine], forces[mine], n))
        for side, pad in enumerate(self.pads):
            touched = (geom == pad) & (other >= 0)
            summary.pad_force[side] = forces[touched].sum()
            summary.pad_touches[side] = {int(g) for g in other_geom[touched]}
        return summary
