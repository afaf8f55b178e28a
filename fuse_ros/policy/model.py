"""The assembled FuSe policy network: a tokenizer per modality, the block transformer, the heads.

A pass takes only the modalities it is told to: the tokens of sensors left out never enter the
sequence, so FuSe's auxiliary passes (one sensor combination each) cost a few dozen tokens, not a full
sequence; and a training step tokenizes its batch once (`tokenize`) for all of its passes (`backbone`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from fuse_ros.nn.heads import (
    ActionHead,
    BlockedHead,
    ContrastiveHead,
    DiffusionActionHead,
    GenerationHead,
    OccupancyHead,
)
from fuse_ros.nn.tokenizers import (
    AudioTokenizer,
    ImageTokenizer,
    LidarTokenizer,
    ProprioTokenizer,
    TactileTokenizer,
    Tokenizer,
)
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.nn.transformer import BlockTransformer, tracing
from fuse_ros.observation import Kind, ModalitySpec, ObservationError, ObservationSpec
from fuse_ros.policy.config import PolicyConfig

ACTION, LANGUAGE, BEV = "action", "language", "bev"  # readout groups


def _film(s: ModalitySpec, c: PolicyConfig) -> int:
    """The instruction's width for a stem that FiLM conditions, else 0."""
    return c.text_dim if s.kind.group in c.film else 0


TOKENIZERS: dict[Kind, Callable[[ModalitySpec, PolicyConfig], Tokenizer]] = {
    Kind.IMAGE: lambda s, c: ImageTokenizer(s.name, s.shape, c.width, c.image_channels, _film(s, c)),
    Kind.TACTILE: lambda s, c: TactileTokenizer(
        s.name, s.shape, c.width, c.tactile_channels, c.tactile_grid, _film(s, c)
    ),
    Kind.AUDIO: lambda s, c: AudioTokenizer(
        s.name,
        s.shape[0],
        s.sample_rate,
        c.width,
        c.audio_mels,
        c.audio_fft,
        c.audio_frames,
        c.audio_channels,
        c.audio_tokens,
        c.audio_bands,
        _film(s, c),
    ),
    Kind.LIDAR: lambda s, c: LidarTokenizer(
        s.name, c.width, c.bev_extent, c.lidar_grid, c.lidar_point_channels, c.lidar_channels
    ),
    Kind.PROPRIO: lambda s, c: ProprioTokenizer(s.name, s.shape[0], c.width),
}


def _action_head(c: PolicyConfig, action_dim: int) -> ActionHead | DiffusionActionHead:
    if c.action_head == "diffusion":
        return DiffusionActionHead(c.width, action_dim, c.action_chunk, c.mlp_dim, c.diffusion_steps)
    return ActionHead(c.width, action_dim, c.action_chunk, c.mlp_dim)


def _tracing() -> bool:
    """True while a tracer runs or a CUDA graph is captured: no data-dependent checks (an exported or
    captured graph's non-finite actions are dropped downstream, by the ChunkExecutor)."""
    capturing = torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
    return tracing() or capturing


class Policy(nn.Module):
    """Network weights are named `tokenizers.<modality>.*`, `readouts.<group>`, `transformer.*`,
    `action_heads.<embodiment>.*`, `contrastive.*`, `generation.*`, `occupancy.*`, `blocked.*`: a sensor's
    tokenizer carries over to any policy whose spec has a modality of the same name."""

    def __init__(self, config: PolicyConfig, spec: ObservationSpec):
        super().__init__()
        c = self.config = config
        self.spec = spec
        for s in spec:
            if "." in s.name:
                raise ObservationError(f"{s.name}: a modality name may not contain '.' (weight names)")
        self.tokenizers = nn.ModuleDict({s.name: TOKENIZERS[s.kind](s, c) for s in spec})
        self.task_proj = nn.Linear(c.text_dim, c.width)
        self.task_position = nn.Parameter(torch.randn(c.max_task_tokens, c.width) * 0.02)
        sizes = {ACTION: c.action_readouts, LANGUAGE: c.language_readouts}
        if c.bev_grid:
            sizes[BEV] = (c.bev_grid // c.bev_patch) ** 2
        self.readouts = nn.ParameterDict(
            {k: nn.Parameter(torch.randn(n, c.width) * 0.02) for k, n in sizes.items()}
        )
        self.transformer = BlockTransformer(c.width, c.depth, c.heads, c.mlp_dim, c.window, c.dropout)
        self.action_heads = nn.ModuleDict({k: _action_head(c, dim) for k, dim in c.action_dims.items()})
        self.contrastive = ContrastiveHead(c.width, c.text_dim, c.embed_dim, c.heads, c.mlp_dim)
        self.generation = GenerationHead(c.width, c.vocab_size, c.description_tokens, c.heads, c.mlp_dim)
        self.occupancy = OccupancyHead(c.width, c.bev_grid, c.bev_patch) if c.bev_grid else None
        self.blocked = BlockedHead(c.width) if c.blocked_head else None

    def forward(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None = None,
        task: TokenGroup | None = None,
        modalities: Sequence[str] | None = None,
        readouts: Sequence[str] = (ACTION,),
    ) -> dict[str, TokenGroup]:
        """`tokenize` then `backbone`: each requested readout group's output tokens (B, T, N, D)."""
        return self.backbone(self.tokenize(batch, valid, modalities, task), task, readouts)

    def tokenize(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None = None,
        modalities: Sequence[str] | None = None,
        task: TokenGroup | None = None,
    ) -> dict[str, TokenGroup]:
        """Observation tokens (B, T, N, D) + mask per modality. A training step tokenizes once and
        reuses the tokens in all its passes (action, contrastive, each sensor combination).
        With `config.film`, the tokens of those sensing groups depend on the instruction `task` (None:
        unconditioned, what the language passes must see, or they would read the instruction they are
        matched against).

        batch: modality -> (B, T, ...) as the spec says (+ `<name>_count` (B, T) for lidar).
        valid: modality -> (B, T) bool; a missing entry means all valid. Invalid readings are zero-filled
            and masked out exactly; a NaN or Inf in a valid reading raises ObservationError.
        modalities: the sensors to tokenize (default: all of the spec's)."""
        tokens = {}
        condition = self.instruction_summary(task) if task is not None and self.config.film else None
        for name in self._select(modalities):
            inputs, mask = self._inputs(name, batch, valid)
            x = self.tokenizers[name](inputs, condition)  # (B, T, N, D)
            tokens[name] = TokenGroup(x, mask[..., None].expand(x.shape[:3]))
        return tokens

    def backbone(
        self,
        tokens: Mapping[str, TokenGroup],
        task: TokenGroup | None = None,
        readouts: Sequence[str] = (ACTION,),
        modalities: Sequence[str] | None = None,
    ) -> dict[str, TokenGroup]:
        """The transformer over the observation tokens of `modalities` (default: all given) only: the
        tokens of sensors left out are not in the sequence at all, so a touch-only pass is a few tokens.

        task: MiniLM token states (B, L, text_dim) + mask, or None (no language).
        readouts: readout groups to add ("action", "language", "bev"); returns their output tokens."""
        names = list(tokens) if modalities is None else list(modalities)
        missing = [n for n in names if n not in tokens]
        if missing or not names:
            raise ObservationError(f"no tokens for modalities {missing or names}; tokenize them first")
        observations = {f"obs_{n}": tokens[n] for n in names}
        B, T = tokens[names[0]].tokens.shape[:2]
        groups = {}
        for r in readouts:
            if r not in self.readouts:
                raise ValueError(f"unknown readout group {r!r}; this policy has {list(self.readouts)}")
            x = self.readouts[r].expand(B, T, -1, -1)  # (B, T, N, D)
            groups[f"readout_{r}"] = TokenGroup(x, torch.ones_like(x[..., 0], dtype=torch.bool))
        out = self.transformer(self._task(task), observations, groups)
        return {r: out[f"readout_{r}"] for r in readouts}

    @staticmethod
    def instruction_summary(task: TokenGroup) -> Tensor:
        """Mean of the instruction's MiniLM token states (B, text_dim): the sentence embedding."""
        weights = task.mask.to(task.tokens.dtype)[..., None]
        return (task.tokens * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def _select(self, modalities: Sequence[str] | None) -> list[str]:
        if modalities is None:
            return list(self.tokenizers)
        unknown = [m for m in modalities if m not in self.tokenizers]
        if unknown or not modalities:
            raise ObservationError(f"choose modalities among {list(self.tokenizers)}, got {list(modalities)}")
        return list(modalities)

    def _inputs(
        self, name: str, batch: Mapping[str, Tensor], valid: Mapping[str, Tensor] | None
    ) -> tuple[dict[str, Tensor], Tensor]:
        """Checked, zero-filled inputs of one modality's tokenizer, and its valid mask (B, T)."""
        spec, keys = self.spec[name], self.tokenizers[name].inputs
        missing = [k for k in keys if k not in batch]
        if missing:
            raise ObservationError(f"{name}: the batch lacks {missing}")
        x = batch[name]
        fits = x.dim() == 2 + len(spec.shape) and all(
            d is None or d == n for d, n in zip(spec.shape, x.shape[2:], strict=False)
        )  # a variable dimension (lidar points) may have any size
        if not fits or x.dtype != getattr(torch, spec.dtype):
            raise ObservationError(
                f"{name}: expected (B, T, *{spec.shape}) {spec.dtype}, got {tuple(x.shape)} {x.dtype}"
            )
        B, steps = x.shape[:2]
        if steps > self.config.window:
            raise ObservationError(f"{name}: {steps} steps exceed the policy's window={self.config.window}")
        mask = torch.ones(B, steps, dtype=torch.bool, device=x.device)
        if valid is not None and name in valid:
            mask = valid[name].to(device=x.device, dtype=torch.bool)
            if tuple(mask.shape) != (B, steps):
                raise ObservationError(f"{name}: valid mask {tuple(mask.shape)}, expected {(B, steps)}")
        if x.is_floating_point() and not _tracing():
            bad = (~torch.isfinite(x).flatten(2).all(-1) & mask).nonzero()
            if len(bad):
                b, t = bad[0].tolist()
                raise ObservationError(f"{name}: NaN or Inf in a valid reading (row {b}, step {t})")
        inputs = {}
        for key in keys:
            v = batch[key]
            inputs[key] = torch.where(mask.view(B, steps, *[1] * (v.dim() - 2)), v, torch.zeros_like(v))
        return inputs, mask

    def _task(self, task: TokenGroup | None) -> TokenGroup | None:
        if task is None:
            return None
        length, dim = task.tokens.shape[1:]
        if length > self.config.max_task_tokens or dim != self.config.text_dim:
            raise ValueError(
                f"task tokens {tuple(task.tokens.shape)}: expected (B, <= {self.config.max_task_tokens}, "
                f"{self.config.text_dim})"
            )
        return TokenGroup(self.task_proj(task.tokens) + self.task_position[:length], task.mask.bool())

    # --- conveniences for inference and evaluation (training calls tokenize, backbone and the heads)

    def predict_actions(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None = None,
        task: TokenGroup | None = None,
        embodiment: str | None = None,
        noise: Tensor | None = None,
    ) -> Tensor:
        """The action chunk (B, chunk, A) for the newest step, from every sensor. Give the whole window
        as in training, history not yet seen marked invalid. `noise` (B, chunk, A): where a diffusion
        head starts (default: a fresh draw); a regression head has no use for it."""
        if embodiment is None:
            if len(self.action_heads) != 1:
                raise ValueError(f"choose an embodiment among {list(self.action_heads)}")
            embodiment = next(iter(self.action_heads))
        out = self(batch, valid, task, readouts=(ACTION,))
        return self.action_heads[embodiment].sample(out[ACTION], noise)

    def embed(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None = None,
        modalities: Sequence[str] | None = None,
    ) -> Tensor:
        """What these sensors say, in the shared language space: (B, E), no instruction given."""
        return self.contrastive.embed_readouts(self._language_readouts(batch, valid, modalities))

    def describe(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None = None,
        modalities: Sequence[str] | None = None,
    ) -> Tensor:
        """Description token logits (B, description_tokens, vocab) of what these sensors sense."""
        return self.generation(self._language_readouts(batch, valid, modalities))

    def _language_readouts(
        self,
        batch: Mapping[str, Tensor],
        valid: Mapping[str, Tensor] | None,
        modalities: Sequence[str] | None,
    ) -> TokenGroup:
        """The newest step's language readouts with no instruction given: what the sensors alone say."""
        return self(batch, valid, None, modalities, readouts=(LANGUAGE,))[LANGUAGE].step(-1)
