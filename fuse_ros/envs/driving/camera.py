"""The front camera: MuJoCo draws the road scene, colour and depth in one pass, offscreen."""

from __future__ import annotations

import mujoco
import numpy as np

from .conditions import FIELD_OF_VIEW
from .world import WorldModel


def _pixel_rays(model: mujoco.MjModel, camera: int, size: int) -> np.ndarray:
    """(S, S, 3) rays through the pixel centres in the ego frame, scaled so that their component along the
    optical axis is 1 (depth x |ray| = distance)."""
    axes = np.zeros(9)
    mujoco.mju_quat2Mat(axes, model.cam_quat[camera])
    right, up, back = axes.reshape(3, 3).T  # camera x, y, z axes in the ego (body) frame
    tan = np.tan(np.deg2rad(model.cam_fovy[camera]) / 2)
    offsets = (2 * (np.arange(size) + 0.5) / size - 1) * tan
    u, v = np.meshgrid(offsets, -offsets)  # rows run top to bottom
    return -back + u[..., None] * right + v[..., None] * up


class FrontCamera:
    def __init__(self, world: WorldModel, size: int):
        self.world, self.size = world, size
        model = world.model
        # an offscreen buffer of exactly the image, without multisampling: the resolve pass of a
        # multisampled buffer costs ~5 ms per frame in software GL, the whole render ~0.2 ms without it
        model.vis.global_.offwidth = model.vis.global_.offheight = size
        model.vis.quality.offsamples = 0
        camera = model.camera("front").id
        rays = _pixel_rays(model, camera, size)
        self._ray_length = np.linalg.norm(rays, axis=-1)
        self.view = rays / self._ray_length[..., None]  # unit pixel rays, ego frame
        if model.cam_fovy[camera] != FIELD_OF_VIEW:
            raise ValueError(
                f"scene.xml's front camera has fovy {model.cam_fovy[camera]}, not {FIELD_OF_VIEW}"
            )
        self.position = model.cam_pos[camera].copy()  # in the ego frame

        self._gl = mujoco.GLContext(size, size)
        self._gl.make_current()
        self._scene = mujoco.MjvScene(model, maxgeom=model.ngeom + 10)
        self._context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        self._scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        self._option = mujoco.MjvOption()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = camera
        self._rect = mujoco.MjrRect(0, 0, size, size)
        self._rgb = np.zeros((size, size, 3), np.uint8)
        self._depth = np.zeros((size, size), np.float32)
        extent = model.stat.extent
        self._near, self._far = model.vis.map.znear * extent, model.vis.map.zfar * extent

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """Clear-day colour image (S, S, 3) uint8 and the distance (S, S) in metres each pixel sees, of the
        world as last updated."""
        self._gl.make_current()
        model, data = self.world.model, self.world.data
        mujoco.mjv_updateScene(
            model, data, self._option, None, self._camera, mujoco.mjtCatBit.mjCAT_ALL, self._scene
        )
        mujoco.mjr_render(self._rect, self._scene, self._context)
        mujoco.mjr_readPixels(self._rgb, self._depth, self._rect, self._context)
        depth = self._near / (1 - np.flipud(self._depth) * (1 - self._near / self._far))
        return np.flipud(self._rgb).copy(), depth * self._ray_length

    def close(self) -> None:
        if self._gl is not None:
            self._gl.make_current()
            self._context.free()
            self._gl.free()
            self._gl = None
