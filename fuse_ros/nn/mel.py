"""Mel scale and mel filterbank, in numpy (librosa is not a dependency; torchaudio does not work here).

Matches librosa's `filters.mel` definition: triangles equally spaced on the mel scale (Slaney's by default,
HTK's on request), each scaled to unit area in Hz (Slaney normalisation).
"""

from __future__ import annotations

import numpy as np

# Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4).
_HZ_PER_MEL = 200.0 / 3.0
_LOG_START_HZ = 1000.0
_LOG_START_MEL = _LOG_START_HZ / _HZ_PER_MEL
_MELS_PER_LOG = 27.0 / np.log(6.4)


def hz_to_mel(hz, htk: bool = False) -> np.ndarray:
    hz = np.asarray(hz, np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    logarithmic = _LOG_START_MEL + np.log(np.maximum(hz, _LOG_START_HZ) / _LOG_START_HZ) * _MELS_PER_LOG
    return np.where(hz >= _LOG_START_HZ, logarithmic, hz / _HZ_PER_MEL)


def mel_to_hz(mel, htk: bool = False) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    logarithmic = _LOG_START_HZ * np.exp((np.maximum(mel, _LOG_START_MEL) - _LOG_START_MEL) / _MELS_PER_LOG)
    return np.where(mel >= _LOG_START_MEL, logarithmic, mel * _HZ_PER_MEL)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None, htk: bool = False
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 weights that turn a power spectrum into mel bands."""
    fmax = sample_rate / 2.0 if fmax is None else fmax
    if not 0.0 <= fmin < fmax <= sample_rate / 2.0:
        raise ValueError(f"mel filterbank: need 0 <= fmin < fmax <= {sample_rate / 2}, got {fmin}, {fmax}")
    fft_hz = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)  # (F,)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rising = (fft_hz - lower) / (centre - lower)
    falling = (upper - fft_hz) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))  # (n_mels, F)
    return (triangles * (2.0 / (upper - lower))).astype(np.float32)
