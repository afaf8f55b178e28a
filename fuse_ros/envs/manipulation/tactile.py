"""DIGIT-like fingertip sensors: a taxel grid of gel indentation, shaded like the sensor's camera sees it.

A DIGIT is a camera behind a lit gel. Here a fan of rays from a point behind each finger pad measures how
close the touched surface is at every taxel; the indentation is modulated by the surface texture (ridges,
grain) in the object's own frame, softened and weakened for compliant objects, scaled by the grip force,
and shaded by three coloured lights from the surface slope, as the real sensor's LEDs do.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import mujoco
import numpy as np

from .scene import FELT

GRID = (20, 16)  # taxels along the pad's height (z) and width (x)
BEHIND = 0.02  # the virtual camera sits this far behind the pad centre (m)
SENSE = 0.002  # a surface this close to the pad already marks the gel (m)
FULL_FORCE = 8.0  # normal force (N) at which the imprint is at full strength
RIDGE_PERIOD = 0.006  # m
GRAIN = 0.002  # size of a rough surface's cells (m)
TEXTURE_DEPTH = 0.5  # how much of the imprint a texture can take away
SOFT_GAIN = 0.55  # a compliant object presses the gel less...
SOFT_BLUR = 5  # ...and over a smoothed-out area (blur kernel, in taxels)
SLOPE = 1.5  # surface slope per taxel of a full indentation step, for shading
LIGHTS = np.array([[0.0, 1.0, 0.6], [-0.87, -0.5, 0.6], [0.87, -0.5, 0.6]])  # red, green, blue LEDs
LIGHTS /= np.linalg.norm(LIGHTS, axis=1, keepdims=True)
BACKGROUND = np.array([150.0, 165.0, 180.0])  # an untouched gel


def texture_pattern(texture: str, local: np.ndarray) -> np.ndarray:
    """How much of the imprint survives at each touched point (given in the object's frame), 0..1."""
    if texture == "ridged":
        return 0.5 + 0.5 * np.cos(2 * np.pi * local[:, 2] / RIDGE_PERIOD)
    if texture == "rough":  # a fixed random value per grain cell, the shader-style hash
        cells = np.floor(local / GRAIN) @ np.array([12.9898, 78.233, 37.719])
        return np.modf(np.abs(np.sin(cells) * 43758.5453))[0]
    return np.ones(len(local))


def background(size: tuple[int, int]) -> np.ndarray:
    """The untouched sensor: a gel lit a little brighter at the top, like the real one (float32)."""
    fade = np.linspace(1.05, 0.92, size[0], dtype=np.float32)[:, None, None]
    return np.clip(BACKGROUND * fade * np.ones((*size, 3), np.float32), 0, 255).astype(np.float32)


def shade(indentation: np.ndarray, gel: np.ndarray) -> np.ndarray:
    """Render an indentation map (grid, 0..1) over the blank `gel` image (H, W, 3) as uint8 RGB."""
    height, width = gel.shape[:2]
    depth = cv2.resize(indentation.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    scale = SLOPE * height / GRID[0] / 8.0  # a 3x3 Sobel is 8x the slope per pixel
    gx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3, scale=scale)
    gy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3, scale=scale)
    tilt = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)  # the z component of the surface normal
    normal = np.stack([-gx * tilt, gy * tilt, tilt - 1.0], axis=-1)  # minus the flat gel's normal
    image = gel + 160.0 * (normal @ LIGHTS.T.astype(np.float32)) + 45.0 * depth[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


class TactileSensor:
    """One finger pad's sensor. `read` returns the tactile image for the current physics state."""

    def __init__(self, model: mujoco.MjModel, pad: int, size: tuple[int, int]) -> None:
        self.model, self.pad = model, pad
        half = model.geom_size[pad]
        inward = -np.sign(model.geom_pos[pad][1])  # the pad faces the other finger
        self.normal_local = np.array([0.0, inward, 0.0])
        self.origin_local = -self.normal_local * BEHIND
        rows, cols = GRID
        z = np.linspace(half[2], -half[2], rows)  # top of the image = top of the pad
        x = np.linspace(-half[0], half[0], cols)
        surface = np.stack(np.meshgrid(x, z), axis=-1).reshape(-1, 2)
        points = np.column_stack([surface[:, 0], np.full(len(surface), inward * half[1]), surface[:, 1]])
        rays = points - self.origin_local
        self.rays_local = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        self.surface_distance = BEHIND + half[1]  # from the camera to the pad surface, along the normal
        self.cos = self.rays_local @ self.normal_local
        self.cutoff = float((self.surface_distance + 2 * SENSE) / self.cos.min())
        self.geomgroup = (np.arange(6) == FELT).astype(np.uint8)  # only objects are felt
        self.geomid = np.zeros(len(rays), np.int32)
        self.dist = np.zeros(len(rays))
        self.gel = background(size)
        self.blank = self.gel.astype(np.uint8)

    def read(self, data: mujoco.MjData, force: float, surfaces: Mapping[int, tuple[str, str]]) -> np.ndarray:
        """The image for a pad pressed with `force` (N); `surfaces` maps touched geom ids to
        (texture, compliance). Untouched, the sensor shows its blank gel."""
        if force <= 0 or not surfaces:
            return self.blank.copy()
        rot = data.geom_xmat[self.pad].reshape(3, 3)
        origin = data.geom_xpos[self.pad] + rot @ self.origin_local
        rays = self.rays_local @ rot.T
        mujoco.mj_multiRay(
            self.model, data, origin, rays.ravel(), self.geomgroup,
            0, -1, self.geomid, self.dist, None, len(rays), self.cutoff,
        )  # fmt: skip
        gap = self.dist * self.cos - self.surface_distance
        indentation = np.where(self.geomid >= 0, np.clip(1.0 - gap / SENSE, 0.0, 1.0), 0.0)
        soft = False
        for geom, (texture, compliance) in surfaces.items():
            hit = self.geomid == geom
            if not hit.any():
                continue
            obj_rot = data.geom_xmat[geom].reshape(3, 3)
            local = (origin + rays[hit] * self.dist[hit, None] - data.geom_xpos[geom]) @ obj_rot
            indentation[hit] *= 1.0 - TEXTURE_DEPTH * (1.0 - texture_pattern(texture, local))
            soft |= compliance == "soft"
        indentation = indentation.reshape(GRID) * min(1.0, force / FULL_FORCE) ** 0.5
        if soft:
            indentation = SOFT_GAIN * cv2.GaussianBlur(indentation, (SOFT_BLUR, SOFT_BLUR), 0)
        return shade(indentation, self.gel)
