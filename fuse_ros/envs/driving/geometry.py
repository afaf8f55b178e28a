"""Boxes on a flat world: frame changes, footprint overlap and bird's-eye-view rasterisation.

A box is (7,) or (K, 7): centre x, y, z, length, width, height, yaw (rad about +z). All objects stand on the
plane z = 0 and only turn about z, so footprints are rectangles and overlap is a 2-D question.
"""

from __future__ import annotations

import numpy as np


def rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s], [s, c]])


def to_frame(boxes: np.ndarray, x: float, y: float, yaw: float) -> np.ndarray:
    """Express world boxes (K, 7) in the frame at (x, y) with heading yaw (its x forward, y left)."""
    out = np.array(boxes, np.float64, copy=True).reshape(-1, 7)
    out[:, :2] = (out[:, :2] - (x, y)) @ rotation(yaw)
    out[:, 6] = np.angle(np.exp(1j * (out[:, 6] - yaw)))
    return out


def footprint(box: np.ndarray) -> np.ndarray:
    """(4, 2) corners of a box's ground rectangle, counter-clockwise."""
    half = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * (box[3] / 2, box[4] / 2)
    return half @ rotation(box[6]).T + box[:2]


def footprints_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes' ground rectangles intersect (separating axis test)."""
    ca, cb = footprint(a), footprint(b)
    for yaw in (a[6], b[6]):
        for axis in rotation(yaw).T:
            pa, pb = ca @ axis, cb @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


def extents(boxes: np.ndarray) -> np.ndarray:
    """(K, 2) half-extents of box footprints along world x and y (their axis-aligned bounds)."""
    boxes = np.asarray(boxes).reshape(-1, 7)
    c, s = np.abs(np.cos(boxes[:, 6])), np.abs(np.sin(boxes[:, 6]))
    half_length, half_width = boxes[:, 3] / 2, boxes[:, 4] / 2
    return np.stack([half_length * c + half_width * s, half_length * s + half_width * c], -1)


def points_in_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, K) mask: whether each 2-D point (N, 2) lies inside each box's footprint."""
    boxes = np.asarray(boxes).reshape(-1, 7)
    rel = points[:, None, :] - boxes[None, :, :2]  # N, K, 2
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    along = rel[..., 0] * c + rel[..., 1] * s
    across = -rel[..., 0] * s + rel[..., 1] * c
    return (np.abs(along) <= boxes[:, 3] / 2) & (np.abs(across) <= boxes[:, 4] / 2)


def bev_grid(boxes: np.ndarray, class_ids: np.ndarray, extent: float, resolution: float) -> np.ndarray:
    """(G, G) uint8 occupancy around the frame origin: cell [i, j] covers x = -extent + i*res, y = -extent
    + j*res (rows forward, columns left); it holds the class id of the box covering its centre, 0 if free."""
    cells = round(2 * extent / resolution)
    grid = np.zeros((cells, cells), np.uint8)
    boxes = np.asarray(boxes).reshape(-1, 7)
    for box, class_id, half in zip(boxes, class_ids, extents(boxes), strict=True):
        # only the cells under the box's axis-aligned bounds can be covered
        lo = np.floor((box[:2] - half + extent) / resolution - 0.5).astype(int).clip(0, cells)
        hi = np.ceil((box[:2] + half + extent) / resolution - 0.5).astype(int).clip(0, cells)
        if (hi <= lo).any():
            continue
        xs = -extent + (np.arange(lo[0], hi[0] + 1) + 0.5) * resolution
        ys = -extent + (np.arange(lo[1], hi[1] + 1) + 0.5) * resolution
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        inside = points_in_boxes(np.stack([gx.ravel(), gy.ravel()], -1), box)[:, 0].reshape(gx.shape)
        window = grid[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1]
        window[inside[: window.shape[0], : window.shape[1]]] = class_id
    return grid


PATH_AHEAD = (5.0, 40.0)  # m: where an object blocks the ego's path (the expert moves over from 40 m)
PATH_HALF_WIDTH = 1.75  # m: half a lane either side of the ego's line
STOPPED_BELOW = 1.0  # m/s: an object this slow blocks its lane (the expert drives around it, follows others)


def path_blocked(boxes: np.ndarray, count: int, speeds: np.ndarray) -> bool:
    """Whether a stopped object (ego-frame boxes and speeds, the first `count` rows) lies in the ego's
    path 5-40 m ahead: what the driving policy must know to move over in time. Moving traffic in the
    path is followed, not passed, so it does not count (it is most of what stands in the path)."""
    x, y, stopped = boxes[:count, 0], boxes[:count, 1], speeds[:count] < STOPPED_BELOW
    ahead = (x > PATH_AHEAD[0]) & (x < PATH_AHEAD[1]) & (np.abs(y) < PATH_HALF_WIDTH)
    return bool((ahead & stopped).any())
