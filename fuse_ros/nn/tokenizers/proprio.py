"""Proprioception tokenizer: one linear token for the joint or ego state."""

from __future__ import annotations

from torch import Tensor, nn

from fuse_ros.nn.tokenizers.base import Tokenizer


class ProprioTokenizer(Tokenizer):
    """float (D,) state -> 1 token. Normalisation (dataset statistics) happens before, in preprocessing."""

    def __init__(self, name: str, dim: int, width: int):
        super().__init__(name, 1, width)
        self.proj = nn.Linear(dim, width)

    def embed(self, state: Tensor) -> Tensor:
        return self.proj(state)[:, None]  # (BT, 1, D)
