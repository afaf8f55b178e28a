"""The mel scale and filterbank against their defining formulas (librosa's conventions)."""

import numpy as np
import pytest

from fuse_ros.nn.mel import hz_to_mel, mel_filterbank, mel_to_hz


def test_slaney_scale_is_linear_below_1khz_and_logarithmic_above():
    assert hz_to_mel(60.0) == pytest.approx(0.9)  # 60 Hz / (200/3 Hz per mel)
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(6400.0) == pytest.approx(15.0 + 27.0)  # 27 mels per factor 6.4 above 1 kHz
    assert mel_to_hz(3.0) == pytest.approx(200.0)


def test_htk_scale():
    assert hz_to_mel(700.0, htk=True) == pytest.approx(2595.0 * np.log10(2.0))
    assert mel_to_hz(2595.0, htk=True) == pytest.approx(700.0 * 9.0)


@pytest.mark.parametrize("htk", [False, True])
def test_mel_and_hz_invert_each_other(htk):
    hz = np.linspace(0.0, 22050.0, 101)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, htk), htk), hz, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("htk", [False, True])
def test_filters_are_unit_area_triangles_centred_on_the_mel_grid(htk):
    sample_rate, n_fft, n_mels = 16000, 8192, 40
    bank = mel_filterbank(sample_rate, n_fft, n_mels, htk=htk)
    assert bank.shape == (n_mels, n_fft // 2 + 1) and bank.dtype == np.float32
    assert (bank >= 0).all()
    bin_hz = sample_rate / n_fft
    np.testing.assert_allclose(bank.sum(1) * bin_hz, 1.0, rtol=0.03)  # Slaney normalisation: area 1 in Hz
    centres = mel_to_hz(np.linspace(0, hz_to_mel(sample_rate / 2, htk), n_mels + 2), htk)[1:-1]
    np.testing.assert_allclose(bank.argmax(1) * bin_hz, centres, atol=bin_hz)


def test_filterbank_rejects_a_band_beyond_nyquist():
    with pytest.raises(ValueError, match="fmax"):
        mel_filterbank(16000, 512, 40, fmax=9000.0)
