"""Weather and light: what day, night, fog and low sun do to the camera image and to the lidar.

The camera renders a clear day with depth; a condition then darkens, fogs or washes out that image with
simple physical models (headlight falloff with distance, exponential fog, a glare halo around the sun).
The lidar is an active sensor: darkness and glare leave it alone, fog thins and weakens its far returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lidar import LidarEffects

FIELD_OF_VIEW = 60.0  # degrees: the front camera's (square image), as in sim/driving/scene.xml
FOG_COLOUR = np.array([0.72, 0.74, 0.76], np.float32)
HEADLIGHT_AXIS = np.array([np.cos(np.deg2rad(-3.0)), 0.0, np.sin(np.deg2rad(-3.0))])


@dataclass(frozen=True)
class Condition:
    name: str
    camera_range: float  # metres within which the camera still makes out an object
    visual_ok: bool  # whether instructions may rely on what the camera sees
    summary: str  # how the camera view reads, opening the visual description ("" on a clear day)
    lidar: LidarEffects = field(default_factory=LidarEffects)
    fog_visibility: float = 0.0  # metres: e-folding distance of fog transmission; 0 = no fog
    headlight_reach: float = 0.0  # metres lit at full strength at night; 0 = daylight
    night_ambient: float = 0.03
    headlight_spread: float = 22.0  # degrees
    glare_width: float = 0.0  # degrees: the sun's halo; 0 = no glare
    glare_veil: float = 0.15  # contrast lost over the whole image under glare
    image_noise: float = 0.01  # sensor noise std, fraction of full scale

    def sun_direction(self, rng: np.random.Generator) -> np.ndarray:
        """A low sun ahead of the road, a little to one side (world frame); drawn once per episode."""
        azimuth = np.deg2rad(rng.choice([-1, 1]) * rng.uniform(3.0, 18.0))
        elevation = np.deg2rad(rng.uniform(1.0, 5.0))
        return np.array(
            [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)]
        )

    def camera_sees(self, position: np.ndarray, sun: np.ndarray) -> bool:
        """Whether the camera can make out an object at `position` (ego frame, metres) in this condition,
        occlusion aside: in the field of view, within range and not lost in the sun's halo."""
        x, y = position[0], position[1]
        distance = np.hypot(x, y)
        if x <= 0 or np.degrees(np.arctan2(abs(y), x)) > FIELD_OF_VIEW / 2 or distance > self.camera_range:
            return False
        if not self.glare_width:
            return True
        from_sun = np.degrees(np.arccos(np.clip(np.array([x, y, 0.0]) @ sun / distance, -1, 1)))
        return bool(from_sun > self.glare_width)

    def degrade(
        self,
        rgb: np.ndarray,
        depth: np.ndarray,
        view: np.ndarray,
        sun: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The camera image under this condition. rgb (S, S, 3) uint8 and depth (S, S) metres of the clear
        render; view (S, S, 3) unit pixel rays in the ego frame; sun the unit sun direction in that frame."""
        img = rgb.astype(np.float32) / 255.0
        if self.fog_visibility:
            transmission = np.exp(-depth / self.fog_visibility)[..., None]
            img = img * transmission + FOG_COLOUR * (1 - transmission)
        if self.headlight_reach:
            off_axis = np.degrees(np.arccos(np.clip(view @ HEADLIGHT_AXIS, -1, 1)))
            falloff = np.minimum(1.0, (self.headlight_reach / np.maximum(depth, 1e-3)) ** 2)
            light = self.night_ambient + np.exp(-((off_axis / self.headlight_spread) ** 2)) * falloff
            img = img * light[..., None]
        if self.glare_width:
            from_sun = np.degrees(np.arccos(np.clip(view @ sun, -1, 1)))
            alpha = self.glare_veil + (1 - self.glare_veil) * np.exp(-((from_sun / self.glare_width) ** 2))
            img = img * (1 - alpha[..., None]) + alpha[..., None]
        img = img + rng.normal(0.0, self.image_noise, img.shape).astype(np.float32)
        return (np.clip(img, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("day", camera_range=80.0, visual_ok=True, summary=""),
        Condition(
            "night",
            camera_range=10.0,
            visual_ok=False,
            summary="it is night and the headlights light only the road just ahead",
            headlight_reach=7.0,
            image_noise=0.02,
        ),
        Condition(
            "fog",
            camera_range=12.0,
            visual_ok=False,
            summary="dense fog hides everything beyond a few metres",
            lidar=LidarEffects(extra_dropout=0.25, attenuation=0.01, noise_scale=1.5),
            fog_visibility=9.0,
        ),
        Condition(
            "glare",
            camera_range=80.0,
            visual_ok=True,
            summary="low sun glare washes out part of the view",
            glare_width=12.0,
        ),
    )
}
