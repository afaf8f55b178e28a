"""The one type that travels between tokenizers, the transformer and the heads (Octo's TokenGroup)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class TokenGroup:
    """Tokens of one group and which of them are real.

    Observation and readout groups carry a time axis: tokens (B, T, N, D), mask (B, T, N). The task group
    has none: tokens (B, L, D), mask (B, L). `mask` is bool; False marks a pad (a missing sensor, the end
    of a short instruction) that nothing may attend to.
    """

    tokens: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        if tuple(self.tokens.shape[:-1]) != tuple(self.mask.shape):
            raise ValueError(
                f"token group: tokens {tuple(self.tokens.shape)} and mask {tuple(self.mask.shape)} disagree"
            )

    def step(self, t: int) -> TokenGroup:
        """The group at one time step: tokens (B, N, D), mask (B, N)."""
        return TokenGroup(self.tokens[:, t], self.mask[:, t])
