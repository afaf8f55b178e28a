"""One tokenizer per sensor kind; each maps a batch entry (B, T, ...) to tokens (B, T, N, D)."""

from fuse_ros.nn.tokenizers.audio import AudioTokenizer
from fuse_ros.nn.tokenizers.base import Tokenizer
from fuse_ros.nn.tokenizers.image import ImageTokenizer
from fuse_ros.nn.tokenizers.lidar import LidarTokenizer, bev_cells
from fuse_ros.nn.tokenizers.proprio import ProprioTokenizer
from fuse_ros.nn.tokenizers.tactile import TactileTokenizer

__all__ = [
    "AudioTokenizer",
    "ImageTokenizer",
    "LidarTokenizer",
    "ProprioTokenizer",
    "TactileTokenizer",
    "Tokenizer",
    "bev_cells",
]
