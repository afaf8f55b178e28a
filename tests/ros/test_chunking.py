"""Action chunk execution: ACT temporal ensembling, receding horizon, and the non-finite guard."""

import math

import numpy as np
import pytest

from fuse_ros.ros.chunking import ChunkExecutor, ChunkingConfig, Ticker


def column(*values: float) -> np.ndarray:
    return np.array(values, np.float32)[:, None]  # a chunk of 1-D actions


def test_temporal_ensembling_weights_the_oldest_prediction_most():
    m = 0.5
    executor = ChunkExecutor(action_dim=1, chunk_size=3, config=ChunkingConfig("ensemble", coeff=m))
    w1, w2 = math.exp(-m), math.exp(-2 * m)
    executor.add(column(1, 2, 3), step=0)
    assert executor.act(0).value[0] == pytest.approx(1)
    executor.add(column(10, 20, 30), step=1)
    assert executor.act(1).value[0] == pytest.approx((2 + 10 * w1) / (1 + w1))
    executor.add(column(100, 200, 300), step=2)
    action = executor.act(2)
    assert action.value[0] == pytest.approx((3 + 20 * w1 + 100 * w2) / (1 + w1 + w2))
    assert action.votes == 3 and action.valid and action.reason == "ok"
    # no prediction at step 3: the first chunk has run out, the other two still vote
    assert executor.act(3).value[0] == pytest.approx((30 + 200 * w1) / (1 + w1))
    assert executor.wants_chunk(3)


def test_zero_coefficient_is_a_plain_mean_and_vectors_average_per_dimension():
    executor = ChunkExecutor(action_dim=2, chunk_size=2, config=ChunkingConfig(coeff=0.0))
    executor.add(np.array([[0, 4], [2, 6]], np.float32), step=0)
    executor.add(np.array([[4, 0], [9, 9]], np.float32), step=1)
    np.testing.assert_allclose(executor.act(1).value, [3, 3])


def test_a_repredicted_step_replaces_the_earlier_chunk():
    executor = ChunkExecutor(action_dim=1, chunk_size=2)
    executor.add(column(1, 1), step=0)
    executor.add(column(5, 5), step=0)
    action = executor.act(0)
    assert action.value[0] == 5 and action.votes == 1


def test_receding_horizon_replans_every_execute_steps_and_runs_out_gracefully():
    config = ChunkingConfig("receding", execute_steps=2)
    executor = ChunkExecutor(action_dim=1, chunk_size=4, config=config)
    assert executor.wants_chunk(0)
    executor.add(column(0, 1, 2, 3), step=0)
    assert [executor.act(t).value[0] for t in (0, 1)] == [0, 1]
    assert not executor.wants_chunk(1) and executor.wants_chunk(2)
    # the policy is late: keep executing the chunk to its end, then hold its last action, flagged
    assert [executor.act(t).value[0] for t in (2, 3)] == [2, 3]
    late = executor.act(4)
    assert late.value[0] == 3 and not late.valid and late.reason == "no chunk"
    executor.add(column(10, 11, 12, 13), step=4)
    executor.add(column(20, 21, 22, 23), step=5)  # newest chunk wins in receding mode
    assert executor.act(5).value[0] == 20 and executor.act(5).votes == 1


def test_non_finite_chunks_never_reach_the_output():
    executor = ChunkExecutor(action_dim=2, chunk_size=2)
    nan_chunk = np.array([[np.nan, 0], [0, 0]], np.float32)
    assert not executor.add(nan_chunk, step=0)
    first = executor.act(0)  # nothing usable yet: zeros, flagged
    np.testing.assert_array_equal(first.value, [0, 0])
    assert not first.valid and first.reason == "non-finite chunk"
    executor.add(np.array([[1, 2], [3, 4]], np.float32), step=1)
    assert not executor.add(np.array([[1e39, 0], [0, 0]]), step=2)  # overflows float32: Inf
    covered = executor.act(2)  # the older chunk still covers step 2
    assert covered.valid and covered.reason == "non-finite chunk" and list(covered.value) == [3, 4]
    held = executor.act(3)  # nothing covers step 3: hold the last action
    assert not held.valid and held.reason == "no chunk" and list(held.value) == [3, 4]
    assert executor.rejected == 2 and all(np.isfinite(a.value).all() for a in (first, covered, held))


def test_zero_fallback_and_reset():
    executor = ChunkExecutor(action_dim=2, chunk_size=1, config=ChunkingConfig(fallback="zero"))
    executor.add(np.array([[5, 5]], np.float32), step=0)
    assert list(executor.act(0).value) == [5, 5]
    assert list(executor.act(1).value) == [0, 0]
    executor.reset()
    assert executor.rejected == 0 and not executor.act(0).valid


def test_bad_configuration_and_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        ChunkingConfig(mode="average")
    with pytest.raises(ValueError, match="fallback"):
        ChunkingConfig(fallback="brake")
    with pytest.raises(ValueError, match="execute_steps"):
        ChunkingConfig(execute_steps=0)
    executor = ChunkExecutor(action_dim=2, chunk_size=3)
    with pytest.raises(ValueError, match=r"expected shape \(k <= 3, 2\), got \(4, 2\)"):
        executor.add(np.zeros((4, 2)), step=0)
    with pytest.raises(ValueError, match="got \\(3,\\)"):
        executor.add(np.zeros(3), step=0)


def test_ticker_gives_each_step_once_and_skips_missed_ones():
    ticker = Ticker(rate_hz=10, start=100.0)
    assert ticker.poll(99.99) is None
    assert ticker.poll(100.0) == 0 and ticker.poll(100.05) is None
    assert ticker.next_time() == pytest.approx(100.1)
    assert ticker.poll(100.1) == 1  # exactly on time despite float rounding
    assert ticker.poll(100.45) == 4 and ticker.missed == 2  # steps 2 and 3 were overrun
    assert ticker.next_time() == pytest.approx(100.5)
    with pytest.raises(ValueError, match="rate"):
        Ticker(0, 0.0)
