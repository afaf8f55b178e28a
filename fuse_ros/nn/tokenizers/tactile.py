"""Tactile image tokenizer: background subtraction, a small CNN, one (or a few) tokens per sensor.

A fingertip sensor's image at rest is not black: what carries contact is the change against the
no-contact frame. `background` starts as that reference frame (`set_background`) and is then learned.
With `film_dim`, the CNN reads the instruction (`film_layer`): "the soft one" can pick out softness before
the transformer compares what was felt with what was asked."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fuse_ros.nn.tokenizers.base import Tokenizer, conv_stack, film_layer, run_stack


class TactileTokenizer(Tokenizer):
    """uint8 (H, W, 3) tactile images -> grid * grid tokens (FuSe: 1 per sensor)."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        width: int,
        channels: tuple[int, ...],
        grid: int,
        film_dim: int = 0,
    ):
        super().__init__(name, grid * grid, width)
        self.grid = grid
        self.background = nn.Parameter(torch.zeros(shape[0], shape[1], 3))  # in pixel units, 0..255
        self.cnn = conv_stack(3, channels)
        self.proj = nn.Linear(channels[-1], width)
        self.film = film_layer(film_dim, channels)

    @torch.no_grad()
    def set_background(self, reference: Tensor) -> None:
        """Start from a no-contact reference frame (H, W, 3), e.g. the mean first frame of a dataset."""
        self.background.copy_(reference.to(self.background))

    def embed(self, images: Tensor, condition: Tensor | None = None) -> Tensor:
        x = (images.float() - self.background) / 255.0  # (BT, H, W, 3), contact shows as change
        x = run_stack(self.cnn, x.permute(0, 3, 1, 2), self.film, condition)  # (BT, C, h, w)
        x = F.adaptive_avg_pool2d(x, self.grid)  # (BT, C, g, g)
        return self.proj(x.flatten(2).transpose(1, 2))  # (BT, g*g, D)
