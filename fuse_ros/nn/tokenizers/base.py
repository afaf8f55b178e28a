"""What every tokenizer shares: the batch-dict interface, the learned position of each token, and the
stride-2 conv stage the image, tactile, audio and lidar stems are built from."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise

import torch
from torch import Tensor, nn


def conv_stage(channels_in: int, channels_out: int) -> nn.Sequential:
    """3x3 stride-2 conv, GroupNorm, ReLU (Octo's SmallStem layer): halves height and width."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=2, padding=1),
        nn.GroupNorm(math.gcd(channels_out, 8), channels_out),
        nn.ReLU(),
    )


def conv_stack(channels_in: int, channels: tuple[int, ...]) -> nn.Sequential:
    """One `conv_stage` per entry of `channels`: the size shrinks by 2 ** len(channels)."""
    return nn.Sequential(*(conv_stage(a, b) for a, b in pairwise((channels_in, *channels))))


def film_layer(film_dim: int, channels: tuple[int, ...]) -> nn.Linear | None:
    """The projection of the instruction to a scale and shift per channel of every stage (RT-1's FiLM),
    or None without `film_dim`. It starts at zero: the stem is unconditioned at first, and a checkpoint
    without FiLM loads onto it unchanged."""
    if not film_dim:
        return None
    film = nn.Linear(film_dim, 2 * sum(channels))
    nn.init.zeros_(film.weight)
    nn.init.zeros_(film.bias)
    return film


def run_stack(stack: nn.Sequential, x: Tensor, film: nn.Linear | None, condition: Tensor | None) -> Tensor:
    """`stack` (a `conv_stack`) over x (N, C, H, W), each stage's output scaled and shifted by the
    instruction `condition` (N, film_dim) when the stem has a `film` layer and an instruction is given."""
    if film is None or condition is None:
        return stack(x)
    channels = [stage[0].out_channels for stage in stack]
    scales, shifts = film(condition).chunk(2, dim=-1)  # (N, sum(channels)) each
    stages = zip(stack, scales.split(channels, -1), shifts.split(channels, -1), strict=True)
    for stage, scale, shift in stages:
        x = stage(x) * (1.0 + scale[..., None, None]) + shift[..., None, None]
    return x


def halved(size: int, times: int) -> int:
    """A side length after `times` stride-2 stages (each gives ceil(size / 2))."""
    for _ in range(times):
        size = (size + 1) // 2
    return size


class Tokenizer(nn.Module):
    """Turns one modality's batch (B, T, ...) into `num_tokens` tokens of the model width.

    `inputs` names the batch entries it reads: the modality itself, then any extras (a lidar's
    `<name>_count`). Subclasses implement `embed` with batch and time folded into one axis; one built
    with a `film` layer (`film_layer`) also takes `condition` (B, C), the instruction, in `embed`."""

    def __init__(self, name: str, num_tokens: int, width: int, extra_inputs: tuple[str, ...] = ()):
        super().__init__()
        self.name = name
        self.num_tokens = num_tokens
        self.inputs = (name, *extra_inputs)
        self.position = nn.Parameter(torch.randn(num_tokens, width) * 0.02)
        self.film: nn.Linear | None = None  # set by a stem built with `film_layer`

    def forward(self, batch: Mapping[str, Tensor], condition: Tensor | None = None) -> Tensor:
        B, T = batch[self.name].shape[:2]
        folded = [batch[key].flatten(0, 1) for key in self.inputs]  # each (B*T, ...)
        extra = {}
        if self.film is not None and condition is not None:
            extra["condition"] = condition.repeat_interleave(T, dim=0)  # (B*T, C)
        return self.embed(*folded, **extra).unflatten(0, (B, T)) + self.position  # (B, T, N, D)

    def embed(self, *inputs: Tensor) -> Tensor:
        """(B*T, ...) -> (B*T, N, D)."""
        raise NotImplementedError
