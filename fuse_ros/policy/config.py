"""The policy's architecture as one validated dataclass, with the `tiny` and `small` presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

TEXT_DIM = 384  # all-MiniLM-L6-v2, see fuse_ros.nn.language
MINILM_VOCAB = 30522

POSITIVE_INTS = (
    "width",
    "depth",
    "heads",
    "mlp_dim",
    "text_dim",
    "max_task_tokens",
    "action_readouts",
    "language_readouts",
    "tactile_grid",
    "audio_mels",
    "audio_fft",
    "audio_frames",
    "audio_tokens",
    "audio_bands",
    "lidar_grid",
    "lidar_point_channels",
    "embed_dim",
    "description_tokens",
    "vocab_size",
    "bev_patch",
    "diffusion_steps",
)

ACTION_HEADS = ("chunk", "diffusion")  # regression of the chunk (FuSe's MSE head), or Octo's diffusion head

FILM_GROUPS = ("visual", "tactile", "audio")  # the stems FiLM can condition (conv stacks)

# Fields that change training, not the shape of any weight: a checkpoint loads across them.
TRAINING_ONLY = frozenset({"dropout", "action_loss"})


@dataclass
class PolicyConfig:
    """Architecture of a FuSe policy. Together with the observation spec it rebuilds the network, so
    both are saved as a checkpoint's config.json. `tiny` (the defaults) trains on 2 CPU cores in
    minutes; `small` is Octo-small's backbone (12 x 384, 6 heads)."""

    # --- backbone
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_dim: int = 512
    dropout: float = 0.0
    window: int = 2  # steps of history the transformer sees (Octo, FuSe: 2)
    # --- task tokens (frozen MiniLM states)
    text_dim: int = TEXT_DIM
    max_task_tokens: int = 24
    # --- readouts
    action_readouts: int = 1
    language_readouts: int = 8  # FuSe: 24
    # --- tokenizers
    image_channels: tuple[int, ...] = (16, 32, 64, 128)  # one stride-2 stage each: 64x64 -> 16 tokens
    film: tuple[str, ...] = ()  # FILM_GROUPS whose stems read the instruction (RT-1's FiLM)
    tactile_channels: tuple[int, ...] = (16, 32, 64)
    tactile_grid: int = 1  # tokens per tactile sensor = grid^2 (FuSe: 1)
    audio_mels: int = 64
    audio_fft: int = 512
    audio_frames: int = 64
    audio_channels: tuple[int, ...] = (16, 32, 64)
    audio_tokens: int = 4  # FuSe: 16
    audio_bands: int = 8  # frequency bands each audio token keeps (1: pooled over frequency)
    lidar_grid: int = 16  # BEV cells per side
    lidar_point_channels: int = 32
    lidar_channels: tuple[int, ...] = (32, 64)  # 16x16 BEV -> 4x4 = 16 tokens
    bev_extent: float = 20.0  # metres: the BEV grid spans [-extent, extent) in x and y
    # --- heads
    action_dims: dict[str, int] = field(default_factory=lambda: {"manipulation": 7})  # embodiment -> dim
    action_chunk: int = 4
    action_loss: str = "mse"  # "mse" or "l1" (the diffusion head: on its denoised chunks)
    action_head: str = "chunk"  # ACTION_HEADS
    diffusion_steps: int = 20  # denoising steps of the diffusion head (Octo: 20)
    embed_dim: int = 256  # shared contrastive embedding (FuSe: 512)
    description_tokens: int = 24
    vocab_size: int = MINILM_VOCAB
    bev_grid: int = 0  # occupancy grid cells per side; 0 = no BEV head
    bev_patch: int = 4  # each BEV readout decodes bev_patch x bev_patch cells
    blocked_head: bool = False  # driving: whether the path ahead is blocked, from the action readouts

    def __post_init__(self) -> None:
        if isinstance(self.film, bool):  # FiLM's first version: true conditioned the cameras only
            self.film = ("visual",) if self.film else ()
        for name in ("image_channels", "tactile_channels", "audio_channels", "lidar_channels", "film"):
            setattr(self, name, tuple(getattr(self, name)))  # JSON gives lists
        self.action_dims = dict(self.action_dims)
        self._validate()

    def _validate(self) -> None:
        def require(ok: bool, name: str, what: str) -> None:
            if not ok:
                raise ValueError(f"PolicyConfig.{name} must be {what}, got {getattr(self, name)!r}")

        for name in POSITIVE_INTS:
            require(isinstance(getattr(self, name), int) and getattr(self, name) > 0, name, "an int > 0")
        require(self.width % self.heads == 0, "width", f"divisible by heads={self.heads}")
        require(self.window >= 2, "window", ">= 2")
        require(0.0 <= self.dropout < 1.0, "dropout", "in [0, 1)")
        require(self.bev_extent > 0, "bev_extent", "> 0 metres")
        for name in ("image_channels", "tactile_channels", "audio_channels", "lidar_channels"):
            channels = getattr(self, name)
            require(len(channels) > 0 and all(c > 0 for c in channels), name, "a non-empty list of ints > 0")
        require(set(self.film) <= set(FILM_GROUPS), "film", f"a list of sensing groups among {FILM_GROUPS}")
        require(self.action_chunk >= 4, "action_chunk", ">= 4")
        require(self.action_loss in ("mse", "l1"), "action_loss", "'mse' or 'l1'")
        require(self.action_head in ACTION_HEADS, "action_head", f"one of {ACTION_HEADS}")
        require(
            bool(self.action_dims) and all(k.isidentifier() and v > 0 for k, v in self.action_dims.items()),
            "action_dims",
            "a non-empty {embodiment name: dim > 0}",
        )
        require(self.bev_grid >= 0, "bev_grid", ">= 0")
        require(isinstance(self.blocked_head, bool), "blocked_head", "true or false")
        require(self.bev_grid % self.bev_patch == 0, "bev_grid", f"a multiple of bev_patch={self.bev_patch}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> PolicyConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown policy preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PolicyConfig:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"PolicyConfig: unknown fields {unknown}")
        return cls(**{"audio_bands": 1, **values})  # saved before audio_bands: pooled over frequency

    def architecture_diff(self, other: PolicyConfig) -> dict[str, tuple[Any, Any]]:
        """Fields that differ in ways that change weights: name -> (self's value, other's value)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {k: (v, theirs[k]) for k, v in mine.items() if k not in TRAINING_ONLY and v != theirs[k]}


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {},
    "small": {
        "width": 384,
        "depth": 12,
        "heads": 6,
        "mlp_dim": 1536,
        "language_readouts": 24,
        "image_channels": (32, 96, 192, 384),
        "tactile_channels": (32, 64, 128),
        "audio_mels": 128,
        "audio_channels": (32, 64, 128),
        "audio_tokens": 16,
        "lidar_point_channels": 64,
        "lidar_channels": (64, 128),
        "embed_dim": 512,
    },
}
