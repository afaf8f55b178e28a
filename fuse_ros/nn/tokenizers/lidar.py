"""Lidar tokenizer in the PointPillars style, for a variable number of points.

Each point gets features (x, y, height, intensity, offsets to its pillar's centre), a shared PointNet MLP,
and a max over the points of each pillar (a vertical column on a BEV grid). Road returns and returns from
above it fill two separate BEV planes: in one max, the road's thousands of returns would drown the dozen a
car draws 40 m ahead (a tokenizer that mixed them did not learn in 300 steps whether something stood in
the ego's lane within 40 m; split, it did). A small CNN turns the planes into tokens. Padding points
(beyond `<name>_count`) and points outside the grid go to a spare cell that is thrown away, so the point
axis can be dynamic in an exported graph.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fuse_ros.nn.tokenizers.base import Tokenizer, conv_stack, halved
from fuse_ros.nn.transformer import tracing

HEIGHT = 2.0  # metres: the scale of a point's height feature (x and y are scaled by the grid's extent)
GROUND = 0.25  # metres above the origin (on the road under the sensor, REP 105's base_footprint):
# lower returns are the road's


def bev_cells(xy: Tensor, extent: float, grid: int) -> tuple[Tensor, Tensor]:
    """Grid cell of each point: (..., 2) metres -> ((..., 2) long (row = x, column = y), (...) inside).

    The grid spans [-extent, extent) metres in x and y around the sensor; row 0 is the most negative x.
    Occupancy targets for the BEV head use this same convention."""
    cells = torch.floor((xy + extent) * (grid / (2.0 * extent))).long()
    inside = ((cells >= 0) & (cells < grid)).all(-1)
    return cells.clamp(0, grid - 1), inside


def _scatter_max(features: Tensor, index: Tensor, cells: int) -> Tensor:
    C = features.shape[-1]
    return features.new_zeros(features.shape[0], cells, C).scatter_reduce(
        1, index[..., None].expand(-1, -1, C), features, reduce="amax"
    )


class _PillarMax(torch.autograd.Function):
    """scatter_reduce's max with a gradient that goes whole to each point equal to its cell's max, picked
    with one flat index (index_select) rather than expanded (B, P, C) ones. Autograd's also splits it among
    tied points, bookkeeping that made the lidar's backward pass slow; the features are >= 0 after a ReLU,
    whose gradient at 0 is 0, so only identical points could tie."""

    @staticmethod
    def forward(ctx, features: Tensor, index: Tensor, cells: int) -> Tensor:
        bev = _scatter_max(features, index, cells)
        ctx.save_for_backward(features, index, bev)
        return bev

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        features, index, bev = ctx.saved_tensors
        B, cells, C = bev.shape
        flat = (index + cells * torch.arange(B, device=index.device)[:, None]).flatten()
        at_max = features.reshape(-1, C) == bev.reshape(-1, C).index_select(0, flat)
        return (grad.reshape(-1, C).index_select(0, flat) * at_max).view_as(features), None, None


def pillar_max(features: Tensor, index: Tensor, cells: int) -> Tensor:
    """(B, P, C) features >= 0, (B, P) cell of each point -> (B, cells, C): each cell's max (0 if empty).
    Exported and compiled graphs keep the plain scatter_reduce, which ONNX knows."""
    return _scatter_max(features, index, cells) if tracing() else _PillarMax.apply(features, index, cells)


class LidarTokenizer(Tokenizer):
    """float32 points (P, 4) = x, y, z, intensity plus `<name>_count` -> (grid / 2^k)^2 tokens."""

    def __init__(
        self,
        name: str,
        width: int,
        extent: float,
        grid: int,
        point_channels: int,
        channels: tuple[int, ...],
    ):
        super().__init__(name, halved(grid, len(channels)) ** 2, width, extra_inputs=(f"{name}_count",))
        self.extent, self.grid = extent, grid
        self.point_net = nn.Sequential(
            nn.Linear(6, point_channels),
            nn.LayerNorm(point_channels),
            nn.ReLU(),
            nn.Linear(point_channels, point_channels),
            nn.ReLU(),  # features >= 0, so an empty pillar's zeros are the neutral element of the max
        )
        self.cnn = conv_stack(2 * point_channels, channels)  # road and above-road planes
        self.proj = nn.Conv2d(channels[-1], width, kernel_size=1)

    def point_features(self, points: Tensor, cells: Tensor) -> Tensor:
        """(..., 4) points and their (..., 2) cells -> (..., 6): x and y over the extent, height over
        HEIGHT, intensity, offsets from the pillar's centre in cells. Heights keep their own scale: over
        a 40 m extent a car's 1.5 m would be 0.04, lost beside the ground."""
        cell_size = 2.0 * self.extent / self.grid
        centres = (cells.float() + 0.5) * cell_size - self.extent
        return torch.cat(
            [
                points[..., :2] / self.extent,
                points[..., 2:3] / HEIGHT,
                points[..., 3:4],
                (points[..., :2] - centres) / cell_size,
            ],
            -1,
        )

    def pillars(self, points: Tensor, count: Tensor) -> Tensor:
        """(BT, P, 4) points, (BT,) counts -> (BT, 2C, grid, grid) BEV features: C channels from the
        road's returns, then C from those above it."""
        BT, P, _ = points.shape
        cells, inside = bev_cells(points[..., :2], self.extent, self.grid)  # (BT, P, 2), (BT, P)
        features = self.point_net(self.point_features(points, cells))  # (BT, P, C)
        real = inside & (torch.arange(P, device=points.device) < count[:, None])  # (BT, P)
        plane = self.grid * self.grid
        cell = cells[..., 0] * self.grid + cells[..., 1] + plane * (points[..., 2] > GROUND).long()
        spare = 2 * plane
        index = torch.where(real, cell, spare)  # (BT, P)
        C = features.shape[-1]
        bev = pillar_max(features, index, spare + 1)  # (BT, 2 * grid*grid + 1, C)
        bev = bev[:, :spare].reshape(BT, 2, plane, C).permute(0, 1, 3, 2)  # (BT, 2, C, grid*grid)
        return bev.reshape(BT, 2 * C, self.grid, self.grid)

    def embed(self, points: Tensor, count: Tensor) -> Tensor:
        x = self.proj(self.cnn(self.pillars(points, count)))  # (BT, D, g, g)
        return x.flatten(2).transpose(1, 2)  # (BT, g*g, D)
