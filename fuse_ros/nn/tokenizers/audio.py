"""Audio tokenizer: log-mel spectrogram computed inside the model, then a small CNN to a few tokens.

The spectrogram is part of the graph (`torch.stft` and a fixed mel filterbank), so training, the ONNX
export and the ROS node all start from the same raw waveform."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fuse_ros.nn.mel import mel_filterbank
from fuse_ros.nn.tokenizers.base import Tokenizer, conv_stack


class AudioTokenizer(Tokenizer):
    """float32 waveform (S,) -> log-mel (n_mels, frames) -> CNN -> `tokens` tokens along time."""

    def __init__(
        self,
        name: str,
        samples: int,
        sample_rate: int,
        width: int,
        n_mels: int,
        n_fft: int,
        frames: int,
        channels: tuple[int, ...],
        tokens: int,
    ):
        super().__init__(name, tokens, width)
        if n_fft > samples:
            raise ValueError(f"{name}: audio_fft={n_fft} exceeds the {samples} samples of one reading")
        self.n_fft, self.hop = n_fft, max(1, samples // frames)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        mel = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels))  # (n_mels, n_fft // 2 + 1)
        self.register_buffer("mel", mel, persistent=False)
        self.cnn = conv_stack(1, channels)
        self.proj = nn.Linear(channels[-1], width)

    def log_mel(self, wave: Tensor) -> Tensor:
        """(BT, S) -> (BT, n_mels, frames)."""
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        power = torch.view_as_real(spec).pow(2).sum(-1)  # (BT, n_fft // 2 + 1, frames)
        return torch.log(self.mel @ power + 1e-5)

    def embed(self, wave: Tensor) -> Tensor:
        x = self.cnn(self.log_mel(wave)[:, None])  # (BT, C, m, f)
        x = F.adaptive_avg_pool2d(x, (1, self.num_tokens))  # (BT, C, 1, n): one token per time slice
        return self.proj(x.flatten(2).transpose(1, 2))  # (BT, n, D)
