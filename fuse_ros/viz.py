"""Video frames of what an actor sensed and did, for any observation spec.

One square tile per panel: each camera and tactile image, the audio waveform and spectrogram, a lidar
bird's-eye view, proprio and action bars, under a header with the instruction and the step's outcome.
Tiles are drawn with numpy and OpenCV (no matplotlib figures), so a 50-step episode renders in well
under a second; colour scales are fixed per episode so loudness and pressure changes stay visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import imageio.v2 as imageio
import numpy as np

from fuse_ros.data.episodes import Episode
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

TILE = 192  # pixels; a multiple of 16 keeps video encoders from resizing
HEADER = 48
COLUMNS = 4
N_FFT, HOP = 256, 128


def _label(tile: np.ndarray, text: str, y: int = 14) -> np.ndarray:
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(tile, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, width, cv2.LINE_AA)
    return tile


def _blank(text: str) -> np.ndarray:
    return _label(np.full((TILE, TILE, 3), 40, np.uint8), text, TILE // 2)


def _fit(image: np.ndarray) -> np.ndarray:
    """An image scaled (nearest pixel, aspect kept) and centred on a tile."""
    h, w = image.shape[:2]
    scale = TILE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_NEAREST)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    top, left = (TILE - size[1]) // 2, (TILE - size[0]) // 2
    tile[top : top + size[1], left : left + size[0]] = scaled
    return tile


def _colours(values: np.ndarray, colormap: int = cv2.COLORMAP_INFERNO) -> np.ndarray:
    """uint8 values -> RGB colours of a colormap."""
    if values.size == 0:
        return np.zeros((0, 3), np.uint8)
    return cv2.applyColorMap(values.astype(np.uint8).reshape(-1, 1), colormap)[:, 0, ::-1]


def _spectrogram_db(wave: np.ndarray) -> np.ndarray:
    """(frequency, time) log magnitude of a Hann-windowed STFT, low frequencies last (drawn at the bottom)."""
    frames = np.lib.stride_tricks.sliding_window_view(wave, N_FFT)[::HOP] * np.hanning(N_FFT)
    return 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)).T[::-1] + 1e-6)


def _waveform(wave: np.ndarray, peak: float) -> np.ndarray:
    """Min/max envelope of the samples, one column per pixel."""
    columns = wave[: len(wave) // TILE * TILE].reshape(TILE, -1)
    rows = np.arange(TILE)[:, None]
    low = ((1 - columns.max(1) / peak) * TILE / 2).astype(int)
    high = ((1 - columns.min(1) / peak) * TILE / 2).astype(int)
    tile = np.full((TILE, TILE, 3), 20, np.uint8)
    tile[(rows >= low) & (rows <= high)] = (80, 200, 255)
    return tile


def _bars(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """One horizontal bar per dimension, growing right (positive) or left (negative) from the centre."""
    tile = np.full((TILE, TILE, 3), 20, np.uint8)
    height = TILE / max(len(values), 1)
    for i, v in enumerate(np.clip(values / scale, -1, 1)):
        x0, x1 = sorted((TILE // 2, int(TILE / 2 * (1 + v))))
        y0 = int(i * height + 18 * (i == 0))
        tile[y0 : max(y0 + 1, int((i + 1) * height) - 1), x0 : max(x1, x0 + 1)] = (120, 220, 120)
    tile[:, TILE // 2] = 90
    return tile


def _bird_eye(points: np.ndarray, reach: float, heights: tuple[float, float]) -> np.ndarray:
    """Points seen from above, x forward (up), y left (left), coloured by height (road dark, obstacles
    bright); the ego at the centre."""
    tile = np.full((TILE, TILE, 3), 10, np.uint8)
    u = (TILE / 2 * (1 - points[:, 1] / reach)).astype(int)
    v = (TILE / 2 * (1 - points[:, 0] / reach)).astype(int)
    inside = (u >= 0) & (u < TILE) & (v >= 0) & (v < TILE)
    low, high = heights
    height = np.clip((points[inside, 2] - low) / (high - low + 1e-6), 0, 1) * 200 + 55
    tile[v[inside], u[inside]] = _colours(height, cv2.COLORMAP_TURBO)
    cv2.circle(tile, (TILE // 2, TILE // 2), 3, (255, 255, 255), -1)
    return tile


class EpisodeRenderer:
    """Frames of one episode; scales (audio peak, lidar reach, bar ranges) are fixed over the episode."""

    def __init__(self, spec: ObservationSpec, episode: Episode, title: str = "") -> None:
        self.spec, self.episode, self.title = spec, episode, title
        self.scale: dict[str, Any] = {"action": np.abs(episode.actions).max(0) + 1e-6}
        self.spectra: dict[str, np.ndarray] = {}
        for m in spec:
            data = np.asarray(episode.observations[m.name])
            if m.kind is Kind.AUDIO:
                self.scale[m.name] = float(np.abs(data).max()) + 1e-6
                self.spectra[m.name] = np.stack([_spectrogram_db(w) for w in data])
            elif m.kind is Kind.PROPRIO:
                self.scale[m.name] = np.abs(data).max(0) + 1e-6
            elif m.kind is Kind.LIDAR:
                counts = np.asarray(episode.observations[f"{m.name}_count"])
                points = np.concatenate([data[k, :c] for k, c in enumerate(counts)] + [np.zeros((1, 4))])
                self.scale[m.name] = float(np.percentile(np.abs(points[:, :2]), 95)) + 1.0
                self.scale[f"{m.name}_heights"] = tuple(np.percentile(points[:, 2], [1, 99]))

    def tiles(self, m: ModalitySpec, k: int) -> list[np.ndarray]:
        """The tiles of one modality at step k (audio has two: waveform and spectrogram)."""
        if not self.episode.valid[m.name][k]:
            return [_blank(f"{m.name}: no data")]
        data = np.asarray(self.episode.observations[m.name][k])
        if m.kind in (Kind.IMAGE, Kind.TACTILE):
            return [_label(_fit(data), m.name)]
        if m.kind is Kind.AUDIO:
            db = self.spectra[m.name]
            top = db.max()
            spectrum = np.clip((db[k] - top + 70) / 70, 0, 1) * 255
            image = _colours(spectrum).reshape(*spectrum.shape, 3)
            spectrum_tile = cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_LINEAR)
            return [
                _label(_waveform(data, self.scale[m.name]), m.name),
                _label(spectrum_tile, f"{m.name} spectrogram"),
            ]
        if m.kind is Kind.LIDAR:
            count = int(self.episode.observations[f"{m.name}_count"][k])
            view = _bird_eye(data[:count], self.scale[m.name], self.scale[f"{m.name}_heights"])
            return [_label(view, f"{m.name} ({count} pts)")]
        return [_label(_bars(data, self.scale[m.name]), m.name)]

    def frame(self, k: int) -> np.ndarray:
        episode = self.episode
        tiles = [t for m in self.spec for t in self.tiles(m, k)]
        tiles.append(_label(_bars(np.asarray(episode.actions[k]), self.scale["action"]), "action"))
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % COLUMNS)
        grid = np.vstack([np.hstack(tiles[i : i + COLUMNS]) for i in range(0, len(tiles), COLUMNS)])
        header = np.full((HEADER, grid.shape[1], 3), 0, np.uint8)
        status = "success" if episode.success[k] else ""
        _label(
            header, f"{self.title}  step {k + 1}/{episode.steps}  reward {episode.rewards[k]:.2f}  {status}"
        )
        _label(header, f'"{episode.instruction}"', 36)
        return np.vstack([header, grid])

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.frame(k) for k in range(self.episode.steps))


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float) -> Path:
    """MP4 (H.264) or GIF, by the file suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, list(frames), duration=1000 / fps, loop=0)
    else:
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=16) as writer:
            for frame in frames:
                writer.append_data(frame)
    return path
