import numpy as np

from fuse_ros.data.streams import pack_ragged, rolling_stream, unpack_ragged, windows_from_stream


def test_rolling_windows_become_one_stream_and_back():
    rng = np.random.default_rng(1)
    stream = rng.standard_normal(1000).astype(np.float32)
    ends = np.array([400, 500, 650, 700, 1000])
    windows = np.stack([stream[e - 400 : e] for e in ends])
    stamps = (ends - 400) / 1000  # seconds, at 1000 samples per second
    packed, packed_ends = rolling_stream(windows, stamps, 1000)
    assert packed.size == 1000 < windows.size
    np.testing.assert_array_equal(windows_from_stream(packed, packed_ends, 400), windows)


def test_windows_that_do_not_roll_are_left_alone():
    windows = np.random.default_rng(2).standard_normal((4, 100)).astype(np.float32)
    assert rolling_stream(windows, np.arange(4) * 0.2, 100) is None


def test_windows_before_the_stream_start_are_zero_padded():
    stream = np.arange(1, 11, dtype=np.float32)
    windows = windows_from_stream(stream, np.array([0, 3, 10]), 5)
    np.testing.assert_array_equal(windows, [[0, 0, 0, 0, 0], [0, 0, 1, 2, 3], [6, 7, 8, 9, 10]])


def test_ragged_rows_round_trip_without_padding():
    counts = np.array([3, 0, 5])
    padded = np.zeros((3, 6, 4), np.float32)
    for k, c in enumerate(counts):
        padded[k, :c] = k + 1 + np.arange(c * 4).reshape(c, 4)
    rows = pack_ragged(padded, counts)
    assert rows.shape == (8, 4)
    np.testing.assert_array_equal(unpack_ragged(rows, counts, 6), padded)
