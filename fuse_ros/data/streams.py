"""Compact forms of the two sensor streams that waste space when stacked one array per step.

- Audio observations are rolling windows (the last second of sound at every step): consecutive windows
  share all but the newest samples. Stored as one stream plus the end of each window, they shrink by
  window/hop (5x at 5 Hz); the same chunks are what a ROS microphone publishes, so bag export uses them.
- Lidar observations are padded to a maximum point count with a count per step. Stored as ragged rows
  (only the real points, one after another), empty padding costs nothing.
Both forms are lossless.
"""

from __future__ import annotations

import numpy as np


def rolling_stream(
    windows: np.ndarray, stamps: np.ndarray, sample_rate: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """(stream, ends) such that windows[k] == stream[ends[k] - n : ends[k]], if every window is the
    previous one shifted by the samples heard since (stamps in seconds); None if not (keep the windows)."""
    steps, n = windows.shape[:2]
    hops = np.round(np.diff(np.asarray(stamps, np.float64), prepend=0.0) * sample_rate).astype(np.int64)
    if steps == 0 or np.any(hops[1:] <= 0) or np.any(hops[1:] > n):
        return None
    for k in range(1, steps):
        h = hops[k]
        if not np.array_equal(windows[k, : n - h], windows[k - 1, h:]):
            return None
    chunks = [windows[0]] + [windows[k, n - hops[k] :] for k in range(1, steps)]
    ends = n + np.concatenate([[0], np.cumsum(hops[1:])])
    return np.concatenate(chunks), ends


def windows_from_stream(stream: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    """The (steps, n) windows that end at `ends`; windows reaching before the stream start are
    zero-padded in front (a microphone that just started)."""
    padded = np.concatenate([np.zeros(n, stream.dtype), stream])
    starts = np.asarray(ends, np.int64)  # ends shifted by the n zeros, minus n
    return np.lib.stride_tricks.sliding_window_view(padded, n)[starts]


def pack_ragged(padded: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The first counts[k] rows of each padded[k], one after another: (sum(counts), *row_shape)."""
    return np.concatenate([padded[k, :c] for k, c in enumerate(counts)]) if len(counts) else padded[:0, 0]


def unpack_ragged(rows: np.ndarray, counts: np.ndarray, max_len: int) -> np.ndarray:
    """The inverse of pack_ragged: (steps, max_len, *row_shape), zero after each step's count."""
    padded = np.zeros((len(counts), max_len, *rows.shape[1:]), rows.dtype)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for k, c in enumerate(counts):
        padded[k, :c] = rows[offsets[k] : offsets[k + 1]]
    return padded
