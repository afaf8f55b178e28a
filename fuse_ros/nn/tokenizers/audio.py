"""Audio tokenizer: log-mel spectrogram computed inside the model, then a small CNN to a few tokens.

The spectrogram is part of the graph (`torch.stft` and a fixed mel filterbank), so training, the ONNX
export and the ROS node all start from the same raw waveform. With `film_dim`, the CNN reads the
instruction (`film_layer`): "the button that plays the piano" can pick out the piano's partials before the
transformer compares what was heard with what was asked."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fuse_ros.nn.mel import mel_filterbank
from fuse_ros.nn.tokenizers.base import Tokenizer, conv_stack, film_layer, halved, run_stack


class AudioTokenizer(Tokenizer):
    """float32 waveform (S,) -> log-mel (n_mels, frames) -> CNN -> `tokens` tokens along time.

    Each token keeps `bands` frequency bands of the CNN's features: a conv stem is blind to where in
    frequency a pattern sits, so averaging over all of it (bands=1) leaves little of the pitch that tells
    a high chime from a low one (an octave moves pooled tokens several times less)."""

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
        bands: int = 1,
        film_dim: int = 0,
    ):
        super().__init__(name, tokens, width)
        if n_fft > samples:
            raise ValueError(f"{name}: audio_fft={n_fft} exceeds the {samples} samples of one reading")
        if not 1 <= bands <= halved(n_mels, len(channels)):
            raise ValueError(
                f"{name}: audio_bands={bands} must be between 1 and the {halved(n_mels, len(channels))} "
                f"frequency rows the CNN leaves of audio_mels={n_mels}"
            )
        self.n_fft, self.hop = n_fft, max(1, samples // frames)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        mel = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels))  # (n_mels, n_fft // 2 + 1)
        self.register_buffer("mel", mel, persistent=False)
        self.cnn = conv_stack(1, channels)
        self.bands = bands
        self.proj = nn.Linear(channels[-1] * bands, width)
        self.film = film_layer(film_dim, channels)

    def log_mel(self, wave: Tensor) -> Tensor:
        """(BT, S) -> (BT, n_mels, frames)."""
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        power = torch.view_as_real(spec).pow(2).sum(-1)  # (BT, n_fft // 2 + 1, frames)
        return torch.log(self.mel @ power + 1e-5)

    def embed(self, wave: Tensor, condition: Tensor | None = None) -> Tensor:
        x = run_stack(self.cnn, self.log_mel(wave)[:, None], self.film, condition)  # (BT, C, m, f)
        x = F.adaptive_avg_pool2d(x, (self.bands, self.num_tokens))  # (BT, C, bands, n)
        return self.proj(x.flatten(1, 2).transpose(1, 2))  # one token per time slice: (BT, n, D)
