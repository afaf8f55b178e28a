"""The inference graph: the policy with flat, named tensor inputs and outputs, as ONNX and runtimes see it.

Inputs, per modality: `<name>` (B, T, ...) in the sensor's own dtype (raw camera bytes, raw waveform), the
extras its tokenizer reads (a lidar's `<name>_count`), and `<name>_valid` (B, T) bool; then the task tokens
`task_tokens` (B, L, 384) and `task_mask` (B, L) from the frozen language encoder, which stays outside.
Preprocessing that is arithmetic lives inside: image scaling, the log-mel spectrogram, and, when the
checkpoint has statistics, proprio normalisation and action de-normalisation.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fuse_ros.nn.tokenizers import AudioTokenizer
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.observation import Kind
from fuse_ros.policy import ACTION, LANGUAGE, Policy

OUTPUTS = ("actions", "embedding", "description")
TASK_TOKENS, TASK_MASK = "task_tokens", "task_mask"
ACTION_NOISE = "action_noise"  # a diffusion head's starting noise (B, chunk, A), standard normal


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: dims are ints or the names of dynamic axes ("batch", "<lidar>_points")."""

    name: str
    dtype: str  # numpy name: "float32", "uint8", "int64", "bool"
    shape: tuple[int | str, ...]

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, item: Mapping) -> TensorSpec:
        return cls(item["name"], item["dtype"], tuple(item["shape"]))


class DftAudioTokenizer(AudioTokenizer):
    """The same log-mel spectrogram as `torch.stft`, as a strided convolution with the windowed DFT basis:
    TensorRT's ONNX parser has no STFT operator, and on a CPU the GEMM is faster than ONNX Runtime's STFT."""

    @classmethod
    def convert(cls, tokenizer: AudioTokenizer) -> DftAudioTokenizer:
        tokenizer.__class__ = cls
        n = torch.arange(tokenizer.n_fft, dtype=torch.float64)
        k = torch.arange(tokenizer.n_fft // 2 + 1, dtype=torch.float64)[:, None]
        angle = 2 * math.pi * k * n / tokenizer.n_fft  # (F, n_fft)
        window = tokenizer.window.double()
        basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])  # (2F, n_fft)
        tokenizer.register_buffer("dft", basis.float()[:, None], persistent=False)  # (2F, 1, n_fft)
        return tokenizer

    def log_mel(self, wave: Tensor) -> Tensor:
        """(BT, S) -> (BT, n_mels, frames), centred frames with reflect padding as torch.stft."""
        half = self.n_fft // 2
        x = F.pad(wave[:, None], (half, half), mode="reflect")  # (BT, 1, S + n_fft)
        real, imag = F.conv1d(x, self.dft, stride=self.hop).chunk(2, dim=1)  # (BT, F, frames) each
        return torch.log(self.mel @ (real.square() + imag.square()) + 1e-5)


class InferenceGraph(nn.Module):
    """`forward(inputs)` -> the requested outputs, in order: "actions" (B, chunk, A) for `embodiment`,
    "embedding" (B, E) and "description" logits (B, tokens, vocab) from what the sensors sense.
    dft_audio=False keeps `torch.stft` (the training graph, the parity reference)."""

    def __init__(
        self,
        policy: Policy,
        embodiment: str | None = None,
        outputs: Sequence[str] = ("actions",),
        normalizer=None,
        dft_audio: bool = True,
    ):
        super().__init__()
        heads = list(policy.action_heads)
        if embodiment is None and len(heads) != 1:
            raise ValueError(f"choose an embodiment among {heads}")
        self.embodiment = embodiment or heads[0]
        if self.embodiment not in heads:
            raise ValueError(f"embodiment {self.embodiment!r} is not one of this policy's {heads}")
        unknown = [o for o in outputs if o not in OUTPUTS]
        if unknown or not outputs:
            raise ValueError(f"outputs must be among {list(OUTPUTS)}, got {list(outputs)}")
        self.output_names = tuple(outputs)
        self.policy = copy.deepcopy(policy).eval()
        for tokenizer in self.policy.tokenizers.values():
            if dft_audio and isinstance(tokenizer, AudioTokenizer):
                DftAudioTokenizer.convert(tokenizer)
        self.normalized = self._register_stats(normalizer)

    def _register_stats(self, normalizer) -> list[str]:
        """Buffers `<key>_mean`/`<key>_std` for actions and proprio modalities the statistics cover."""
        if normalizer is None:
            return []
        keys = ["actions"] + [n for n in self.policy.spec.names(Kind.PROPRIO) if n in normalizer]
        for key in keys:
            zeros = np.zeros(len(normalizer.stats[key].mean), np.float32)
            mean = normalizer.denormalize(key, zeros)  # the normalizer's own mean and floored std
            self.register_buffer(f"{key}_mean", torch.from_numpy(mean))
            self.register_buffer(
                f"{key}_std", torch.from_numpy(normalizer.denormalize(key, zeros + 1) - mean)
            )
        return keys

    def data_inputs(self) -> list[str]:
        """Sensor tensors the tokenizers read, in spec order (a lidar: `<name>`, `<name>_count`)."""
        return [key for tokenizer in self.policy.tokenizers.values() for key in tokenizer.inputs]

    def input_specs(self) -> list[TensorSpec]:
        c, specs = self.policy.config, []
        for s in self.policy.spec:
            dims = tuple(f"{s.name}_points" if d is None else d for d in s.shape)
            specs.append(TensorSpec(s.name, s.dtype, ("batch", c.window, *dims)))
            specs += [
                TensorSpec(k, "int64", ("batch", c.window)) for k in self.policy.tokenizers[s.name].inputs[1:]
            ]
        specs += [TensorSpec(f"{s.name}_valid", "bool", ("batch", c.window)) for s in self.policy.spec]
        specs.append(TensorSpec(TASK_TOKENS, "float32", ("batch", c.max_task_tokens, c.text_dim)))
        specs.append(TensorSpec(TASK_MASK, "bool", ("batch", c.max_task_tokens)))
        if self.samples_noise:
            chunk = ("batch", c.action_chunk, c.action_dims[self.embodiment])
            specs.append(TensorSpec(ACTION_NOISE, "float32", chunk))
        return specs

    @property
    def samples_noise(self) -> bool:
        """Whether the actions are denoised from an ACTION_NOISE input (a diffusion head)."""
        return "actions" in self.output_names and self.policy.config.action_head == "diffusion"

    def output_specs(self) -> list[TensorSpec]:
        c = self.policy.config
        shapes = {
            "actions": ("batch", c.action_chunk, c.action_dims[self.embodiment]),
            "embedding": ("batch", c.embed_dim),
            "description": ("batch", c.description_tokens, c.vocab_size),
        }
        return [TensorSpec(o, "float32", shapes[o]) for o in self.output_names]

    def forward(self, inputs: dict[str, Tensor]) -> tuple[Tensor, ...]:
        p = self.policy
        batch = {k: inputs[k] for k in self.data_inputs()}
        for key in self.normalized[1:]:  # proprio modalities
            batch[key] = (batch[key] - getattr(self, f"{key}_mean")) / getattr(self, f"{key}_std")
        valid = {s.name: inputs[f"{s.name}_valid"] for s in p.spec}
        task = TokenGroup(inputs[TASK_TOKENS], inputs[TASK_MASK])
        instructed = p.tokenize(batch, valid, task=task)  # config.film: FiLM stems read the instruction
        results = {}
        if "actions" in self.output_names:
            out = p.backbone(instructed, task, (ACTION,))
            noise = inputs[ACTION_NOISE] if self.samples_noise else None
            actions = p.action_heads[self.embodiment].sample(out[ACTION], noise)  # (B, chunk, A)
            if self.normalized:
                actions = actions * self.actions_std + self.actions_mean
            results["actions"] = actions
        if {"embedding", "description"} & set(self.output_names):
            plain = p.tokenize(batch, valid) if p.config.film else instructed  # never the instruction
            readouts = p.backbone(plain, None, (LANGUAGE,))[LANGUAGE].step(-1)
            results["embedding"] = p.contrastive.embed_readouts(readouts)
            results["description"] = p.generation(readouts)
        return tuple(results[o] for o in self.output_names)
