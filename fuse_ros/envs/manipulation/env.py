"""`ManipulationEnv`: a floating two-finger gripper at a table where touch and sound matter.

Actions (7,) in [-1, 1], as Octo/WidowX: end-effector delta position (x, y, z; up to MAX_MOVE per step),
delta rotation (roll, pitch, yaw; up to MAX_TURN per step) and the gripper (-1 open ... +1 closed,
an absolute command). Control runs at CONTROL_HZ with physics substeps in between.

Observations follow `observation_spec`: two RGB cameras, two DIGIT-like tactile images, the last second
of a 16 kHz contact microphone, proprioception (x, y, z, roll, pitch, yaw, opening) and the instruction.
With `cameras=False` nothing is rendered and the image modalities leave the spec (fast runs without them).
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import mujoco
import numpy as np

from fuse_ros.instructions import EMPTY, Instructions
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

from .audio import MATERIALS, SAMPLE_RATE, TONES, ContactMicrophone
from .language import VARIANTS, instructions
from .objects import SHAPES, catalog
from .plan import same_plan
from .scene import FINGER_RANGE, TABLE, WALL, Contacts, Scene
from .tactile import TactileSensor
from .tasks import HOLD_STEPS, LIFT, MAX_STEPS, PRESSED, TASK_NAMES, Episode, sample_episode

CONTROL_HZ = 10  # physics substeps in between follow from the model's timestep
MAX_MOVE = 0.03  # m per control step at action 1
MAX_TURN = 0.15  # rad per control step at action 1
HOME = np.array([0.0, 0.0, 0.24, 0.0])  # x, y, z, yaw
WORKSPACE = (np.array([-0.22, -0.22, 0.095]), np.array([0.22, 0.22, 0.35]))  # palm position limits
TILT = 0.5  # roll and pitch limit (rad)
LAG = 0.03  # the commanded position may lead the gripper by at most this much (m)
VARIANT_TRIES = 200
CAMERAS = ("image_primary", "image_wrist")  # modality names; the MJCF cameras are "primary" and "wrist"


def observation_spec(image_size: int, tactile_size: tuple[int, int], cameras: bool = True) -> ObservationSpec:
    image = (image_size, image_size, 3)
    images = (
        [ModalitySpec(name, Kind.IMAGE, image, "uint8", CONTROL_HZ) for name in CAMERAS] if cameras else []
    )
    return ObservationSpec.of(
        *images,
        ModalitySpec("tactile_left", Kind.TACTILE, (*tactile_size, 3), "uint8", CONTROL_HZ),
        ModalitySpec("tactile_right", Kind.TACTILE, (*tactile_size, 3), "uint8", CONTROL_HZ),
        ModalitySpec("audio", Kind.AUDIO, (SAMPLE_RATE,), "float32", CONTROL_HZ, sample_rate=SAMPLE_RATE),
        ModalitySpec("proprio", Kind.PROPRIO, (7,), "float32", CONTROL_HZ),
    )


class ManipulationEnv(gym.Env):
    """Tasks: "grasp", "occluded_grasp", "button", "compositional" (see tasks.py).

    reset(options=) accepts {"variant": name} (resample until that instruction variant is valid) and
    {"episode": Episode} (play a given episode). `variant=` fixes the variant for every episode.
    The reset info's "same_plan" lists the variants under which the expert would act as it does under
    this one (see plan.py): the instructions its demonstration may be relabelled with."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}

    def __init__(
        self,
        task: str = "grasp",
        image_size: int = 64,
        tactile_size: tuple[int, int] = (32, 32),
        cameras: bool = True,
        split: str = "train",
        render_mode: str | None = None,
        max_steps: int | None = None,
        variant: str | None = None,
        render_size: int = 256,
    ) -> None:
        if task not in TASK_NAMES:
            raise ValueError(f"unknown manipulation task {task!r}; choose one of {TASK_NAMES}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.task, self.catalog, self.cameras = task, catalog(split), cameras
        self.render_mode, self.render_size = render_mode, render_size
        self.max_steps = max_steps or MAX_STEPS[task]
        self.fixed_variant = variant
        self.observation_spec = observation_spec(image_size, tuple(tactile_size), cameras)
        self.observation_space = self.observation_spec.gym_space()
        self.action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)
        self.scene = Scene()
        self.substeps = round(1.0 / (CONTROL_HZ * self.scene.model.opt.timestep))
        self.image_size = image_size
        self.sensors = [TactileSensor(self.scene.model, pad, tuple(tactile_size)) for pad in self.scene.pads]
        self.microphone = ContactMicrophone(SAMPLE_RATE // CONTROL_HZ)
        self._renderers: dict[int, mujoco.Renderer] = {}
        self._options = mujoco.MjvOption()
        self.episode: Episode | None = None
        self.instructions: Instructions | None = None
        self.variant, self.instruction, self.episode_seed = "", "", 0

    # --- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        options = options or {}
        variant = options.get("variant", self.fixed_variant)
        self.episode = options.get("episode") or self._sample(variant)
        if self.episode.task != self.task:
            raise ValueError(f"an episode of task {self.episode.task!r} cannot play in a {self.task!r} env")
        self.instructions = instructions(self.episode)
        valid = [v for v, ok in self.instructions.valid.items() if ok]
        self.variant = variant or str(self.np_random.choice(valid))
        self.instruction = self.instructions.sample(self.np_random, self.variant)
        self.episode_seed = int(self.np_random.integers(2**31))
        self.scene.arrange(self.episode.layout, HOME)
        self.microphone.reset(np.random.default_rng(int(self.np_random.integers(2**31))))
        self.command = np.r_[HOME[:3], 0.0, 0.0, HOME[3]]  # the commanded x, y, z, roll, pitch, yaw
        self.steps, self.success = 0, False
        n_objects, n_buttons = len(self.episode.layout.objects), len(self.episode.layout.buttons)
        self._partners = [{TABLE} for _ in range(n_objects)]
        self._velocity = np.zeros((n_objects, 3))
        self._held = np.zeros(n_buttons, int)
        named = [v for v in valid if v != EMPTY]
        alike = same_plan(self.episode, self.variant, named) if self.variant != EMPTY else []
        info = {
            "instructions": self.instructions,
            "variant": self.variant,
            "same_plan": ",".join(alike),  # variants this episode's demonstration also shows
            "success": False,
        }
        return self._observation(self.scene.contacts()), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        if action.shape != (7,) or not np.isfinite(action).all():
            raise ValueError(f"action must be 7 finite numbers, got {action!r}")
        self.scene.step(self._control(action), self.substeps)
        contacts = self.scene.contacts()
        self._hear(contacts)
        chosen = self._update_buttons()
        self.steps += 1
        self.success = self._succeeded(chosen)
        terminated = self.success or self._failed(chosen)
        truncated = self.steps >= self.max_steps and not terminated
        info = {"success": self.success}
        return self._observation(contacts), float(self.success), terminated, truncated, info

    @property
    def held(self) -> np.ndarray:
        """Steps each button has been pressed down without a break (a copy; HOLD_STEPS choose it)."""
        return self._held.copy()

    def render(self) -> np.ndarray | None:
        """The third-person view at `render_size` (up to 512) pixels, for videos."""
        if self.render_mode != "rgb_array":
            return None
        return self._camera("primary", self.render_size)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def make_expert(self):
        from .expert import ManipulationExpert

        return ManipulationExpert(self)

    # --- episode ------------------------------------------------------------------------------
    def _sample(self, variant: str | None) -> Episode:
        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"unknown instruction variant {variant!r}; choose one of {VARIANTS}")
        for _ in range(VARIANT_TRIES):
            episode = sample_episode(self.task, self.np_random, self.catalog)
            if variant is None or instructions(episode).valid.get(variant, False):
                return episode
        raise ValueError(
            f"task {self.task!r}: no episode in {VARIANT_TRIES} draws makes variant {variant!r} valid"
        )

    def _succeeded(self, chosen: list[int]) -> bool:
        if self.task == "button":
            return self.episode.target in chosen
        return self._lifted(self.episode.target)

    def _failed(self, chosen: list[int]) -> bool:
        """The wrong thing was chosen: another button held, or another object lifted. Choosing is
        final, so trying each candidate in turn is no way to succeed; feeling or hearing first is."""
        if self.task == "button":
            return bool(chosen) and not self.success
        others = (i for i in range(len(self.episode.layout.objects)) if i != self.episode.target)
        return any(self._lifted(i) for i in others)

    def _lifted(self, index: int) -> bool:
        obj = self.episode.layout.objects[index]
        return bool(self.scene.object_pos(index)[2] - SHAPES[obj.kind.shape].half_height >= LIFT)

    # --- acting -------------------------------------------------------------------------------
    def _control(self, action: np.ndarray) -> np.ndarray:
        """Move the commanded pose by the action's deltas; return the servo targets."""
        pose = self.scene.gripper_pose  # x, y, z, yaw, pitch, roll
        position = self.command[:3] + MAX_MOVE * action[:3]
        position = np.clip(np.clip(position, pose[:3] - LAG, pose[:3] + LAG), *WORKSPACE)
        rotation = self.command[3:] + MAX_TURN * action[3:6]  # roll, pitch, yaw
        rotation[:2] = np.clip(rotation[:2], -TILT, TILT)
        rotation[2] = np.clip(rotation[2], -np.pi, np.pi)
        self.command = np.r_[position, rotation]
        opening = FINGER_RANGE * (1.0 - action[6]) / 2.0
        return np.r_[position, rotation[::-1], opening, opening]

    # --- sensing ------------------------------------------------------------------------------
    def _hear(self, contacts: Contacts) -> None:
        """Sounds of this control step: impacts and squeezes when contacts begin, scrapes while sliding."""
        mic, objects = self.microphone, self.episode.layout.objects
        for i, obj in enumerate(objects):
            sound = MATERIALS[obj.kind.material]
            velocity = self.scene.object_velocity(i).copy()
            if contacts.partners[i] - self._partners[i]:
                jolt = np.linalg.norm(velocity - self._velocity[i])
                mic.play(sound.render(min(1.0, 0.25 + jolt / 0.3 + contacts.object_force[i] / 30.0), mic.rng))
            slide = np.linalg.norm(velocity[:2])
            if contacts.partners[i] & {TABLE, WALL} and slide > 0.02:
                mic.play(sound.scrape(mic.chunk, min(1.0, slide / 0.2), mic.rng))
            self._partners[i], self._velocity[i] = contacts.partners[i], velocity
        mic.advance()

    def _update_buttons(self) -> list[int]:
        """Play the tone of each button pressed in this step; return the buttons held long enough."""
        pressed = self.scene.button_depth() > PRESSED
        for k in np.flatnonzero(pressed & (self._held == 0)):
            tone = TONES[self.episode.layout.buttons[k].tone]
            self.microphone.play(tone.render(1.0, self.microphone.rng))
        self._held = (self._held + 1) * pressed
        return [int(k) for k in np.flatnonzero(self._held >= HOLD_STEPS)]

    def _observation(self, contacts: Contacts) -> dict:
        surfaces = {
            geom: (obj.kind.texture, obj.kind.compliance)
            for geom, obj in zip(self.scene.object_geoms, self.episode.layout.objects, strict=True)
        }
        tactile = [
            sensor.read(
                self.scene.data,
                contacts.pad_force[side],
                {g: surfaces[g] for g in contacts.pad_touches[side]},
            )
            for side, sensor in enumerate(self.sensors)
        ]
        pose = self.scene.gripper_pose  # x, y, z, yaw, pitch, roll
        proprio = np.r_[pose[:3], pose[:2:-1], self.scene.opening].astype(np.float32)
        cameras = CAMERAS if self.cameras else ()
        return {
            **{name: self._camera(name.removeprefix("image_"), self.image_size) for name in cameras},
            "tactile_left": tactile[0],
            "tactile_right": tactile[1],
            "audio": self.microphone.window.copy(),
            "proprio": proprio,
            "instruction": self.instruction,
        }

    def _camera(self, name: str, size: int) -> np.ndarray:
        if size not in self._renderers:
            renderer = mujoco.Renderer(self.scene.model, size, size)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
            self._renderers[size] = renderer
        renderer = self._renderers[size]
        renderer.update_scene(self.scene.data, camera=name, scene_option=self._options)
        return renderer.render()
