"""Network building blocks: tokenizers, the block-causal transformer, heads, the frozen text encoder.

`language` is not imported here: it loads sentence-transformers, which is slow to import."""

from fuse_ros.nn.heads import ActionHead, BlockedHead, ContrastiveHead, GenerationHead, OccupancyHead
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.nn.transformer import BlockTransformer, attention_rules

__all__ = [
    "ActionHead",
    "BlockTransformer",
    "BlockedHead",
    "ContrastiveHead",
    "GenerationHead",
    "OccupancyHead",
    "TokenGroup",
    "attention_rules",
]
