"""Each tokenizer's shapes and the properties its design promises (lidar: order- and padding-invariant;
tactile: background subtraction; audio: a tone lands in its mel band)."""

import math

import pytest
import torch

from fuse_ros.nn.tokenizers import (
    AudioTokenizer,
    ImageTokenizer,
    LidarTokenizer,
    ProprioTokenizer,
    TactileTokenizer,
    bev_cells,
)
from fuse_ros.nn.tokenizers.lidar import _scatter_max, pillar_max

torch.manual_seed(0)
WIDTH = 16


def test_image_tokenizer_makes_one_token_per_stem_cell_from_raw_bytes():
    tokenizer = ImageTokenizer("cam", (32, 48, 3), WIDTH, channels=(4, 8, 8))
    images = torch.randint(0, 256, (2, 3, 32, 48, 3), dtype=torch.uint8)
    tokens = tokenizer({"cam": images})
    assert tokenizer.num_tokens == 4 * 6
    assert tokens.shape == (2, 3, 24, WIDTH) and tokens.isfinite().all()


def test_proprio_tokenizer_makes_one_token():
    tokenizer = ProprioTokenizer("joints", 7, WIDTH)
    assert tokenizer({"joints": torch.randn(2, 3, 7)}).shape == (2, 3, 1, WIDTH)


def test_tactile_tokenizer_sees_the_change_against_its_background():
    tokenizer = TactileTokenizer("touch", (16, 16, 3), WIDTH, channels=(4, 8), grid=2)
    reference = torch.randint(0, 256, (16, 16, 3), dtype=torch.uint8)
    pressed = reference.clone()
    pressed[4:10, 4:10] = 255
    at_rest = tokenizer({"touch": torch.zeros(1, 1, 16, 16, 3, dtype=torch.uint8)})
    tokenizer.set_background(reference)
    assert torch.allclose(tokenizer({"touch": reference[None, None]}), at_rest, atol=1e-6)
    assert not torch.allclose(tokenizer({"touch": pressed[None, None]}), at_rest, atol=1e-3)
    assert at_rest.shape == (1, 1, 4, WIDTH)


def test_audio_log_mel_puts_a_tone_in_its_band():
    rate, samples = 8000, 4000
    tokenizer = AudioTokenizer("mic", samples, rate, WIDTH, 32, 256, 32, channels=(4, 8), tokens=3)
    t = torch.arange(samples) / rate
    spectrum = tokenizer.log_mel(torch.sin(2 * math.pi * 1000.0 * t)[None])  # (1, mels, frames)
    assert spectrum.shape[:2] == (1, 32)
    band = spectrum[0].mean(-1).argmax()
    assert tokenizer.mel[band].argmax() * rate / 256 == pytest.approx(1000.0, abs=rate / 256 * 2)
    tokens = tokenizer({"mic": torch.randn(2, 2, samples)})
    assert tokens.shape == (2, 2, 3, WIDTH) and tokens.isfinite().all()


def test_audio_tokenizer_rejects_a_window_longer_than_the_reading():
    with pytest.raises(ValueError, match="mic: audio_fft=512"):
        AudioTokenizer("mic", 300, 8000, WIDTH, 16, 512, 8, channels=(4,), tokens=1)
    with pytest.raises(ValueError, match="mic: audio_bands=9 must be between 1 and the 8 frequency rows"):
        AudioTokenizer("mic", 4000, 8000, WIDTH, 16, 256, 8, channels=(4,), tokens=1, bands=9)


def test_bev_cells_rows_are_x_columns_are_y():
    xy = torch.tensor([[-9.9, 0.1], [9.9, -9.9], [10.0, 0.0], [0.0, -10.5]])
    cells, inside = bev_cells(xy, extent=10.0, grid=4)
    assert cells[:2].tolist() == [[0, 2], [3, 0]]
    assert inside.tolist() == [True, True, False, False]


@pytest.fixture
def lidar():
    return LidarTokenizer("lidar", WIDTH, extent=10.0, grid=8, point_channels=8, channels=(8,)).eval()


def cloud(points: torch.Tensor, count: int | None = None) -> dict:
    count = len(points) if count is None else count
    return {"lidar": points[None, None], "lidar_count": torch.tensor([[count]])}


def test_lidar_tokens_ignore_point_order(lidar):
    points = torch.randn(50, 4) * 4
    tokens = lidar(cloud(points))
    assert tokens.shape == (1, 1, 16, WIDTH)
    assert torch.allclose(lidar(cloud(points[torch.randperm(50)])), tokens, atol=1e-6)


def test_lidar_padding_and_out_of_range_points_change_nothing(lidar):
    points = torch.randn(50, 4) * 4
    tokens = lidar(cloud(points))
    padded = torch.cat([points, torch.randn(30, 4) * 100])  # garbage beyond the count
    assert torch.allclose(lidar(cloud(padded, count=50)), tokens, atol=1e-6)
    far = torch.cat([points, torch.tensor([[50.0, 0.0, 0.0, 1.0], [0.0, -11.0, 1.0, 1.0]])])
    assert torch.allclose(lidar(cloud(far)), tokens, atol=1e-6)
    assert not torch.allclose(lidar(cloud(points, count=25)), tokens, atol=1e-4)


def test_lidar_heights_keep_their_scale_whatever_the_grid_reaches():
    """A 1.5 m obstacle stands out from the ground by the same amount on a 10 m or a 40 m grid."""
    point = torch.tensor([[20.0, -4.0, 1.5, 0.5]])
    for extent in (10.0, 40.0):
        tokenizer = LidarTokenizer("lidar", WIDTH, extent, grid=8, point_channels=8, channels=(8,))
        cells, _ = bev_cells(point[:, :2], extent, 8)
        ground = point * torch.tensor([1.0, 1.0, 0.0, 1.0])
        rise = tokenizer.point_features(point, cells) - tokenizer.point_features(ground, cells)
        assert rise.tolist() == [[0.0, 0.0, 0.75, 0.0, 0.0, 0.0]]
        assert tokenizer.point_features(point, cells)[0, 0] == pytest.approx(20.0 / extent)


def test_lidar_returns_above_the_road_keep_their_own_plane(lidar):
    """The road's returns in a cell cannot hide an obstacle's in the same cell: each fills its own plane."""
    road = torch.tensor([[2.0, 1.0, 0.0, 0.9], [2.2, 1.1, 0.05, 0.2], [-6.0, 3.0, 0.0, 0.5]])
    obstacle = torch.tensor([[2.1, 1.2, 1.4, 0.3], [2.3, 0.9, 0.6, 0.1]])
    C = lidar.point_net[0].out_features
    both, road_only, obstacle_only = (
        lidar.pillars(c[None], torch.tensor([len(c)]))[0]
        for c in (torch.cat([road, obstacle]), road, obstacle)
    )
    assert torch.equal(both[:C], road_only[:C]) and torch.equal(both[C:], obstacle_only[C:])
    assert both[C:].abs().sum() > 0 and road_only[C:].abs().sum() == 0


def test_lidar_empty_cloud_is_finite(lidar):
    assert lidar(cloud(torch.zeros(4, 4), count=0)).isfinite().all()


def test_the_pillar_max_has_autograds_value_and_gradient_for_features_after_a_relu():
    """The cheaper backward: same max, same gradients through a ReLU (ties at 0, empty cells)."""
    raw = torch.randn(3, 500, 8)
    index = torch.randint(0, 40, (3, 500))  # 40 cells for 500 points: most cells hold several, some none
    weights = torch.randn(3, 41, 8)
    grads = []
    for scatter in (_scatter_max, pillar_max):
        x = raw.clone().requires_grad_()
        bev = scatter(torch.relu(x), index, 41)
        (bev * weights).sum().backward()
        grads.append((bev.detach(), x.grad))
    (expected, expected_grad), (bev, grad) = grads
    assert torch.equal(bev, expected) and (bev[:, 40] == 0).all()
    assert torch.allclose(grad, expected_grad) and grad.abs().sum() > 0


def test_audio_tokens_keep_the_pitch_that_pooling_over_frequency_loses():
    """The same tone an octave up: with frequency bands the tokens change; averaged over all of the
    frequency axis (bands=1, shift-blind convolutions) they hardly do."""
    rate, samples = 8000, 4000
    t = torch.arange(samples) / rate
    tones = torch.stack([torch.sin(2 * math.pi * f * t) for f in (500.0, 1000.0)])[None]  # (1, 2, S)
    change = {}
    for bands in (1, 4):
        torch.manual_seed(0)
        tokenizer = AudioTokenizer("mic", samples, rate, WIDTH, 32, 256, 32, (8, 8), tokens=2, bands=bands)
        low, high = tokenizer({"mic": tones})[0]
        change[bands] = ((high - low).norm() / low.norm()).item()
    assert change[4] > 3 * change[1], change
