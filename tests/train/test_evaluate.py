"""Pieces of the evaluator that need no simulator: the retrieval matrix and merging datasets' metrics."""

import pytest
import torch

from fuse_ros.train.evaluate import ClosedLoop, _score_matrix, merge_language_metrics


def test_the_retrieval_matrix_averages_scores_per_true_instruction():
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.2, 0.8, 0.0]])
    matrix = _score_matrix(scores, torch.tensor([0, 0, 1]), ["a", "b", "c"])
    assert matrix["rows"] == ["a", "b"] and matrix["columns"] == ["a", "b", "c"]  # no query had "c"
    assert matrix["scores"] == [[0.8, 0.2, 0.0], [0.2, 0.8, 0.0]]


def test_merged_retrieval_weights_datasets_by_their_queries():
    matrix = {"rows": [], "columns": [], "scores": []}
    first = (
        {"audio": {"r1": 1.0, "r5": 1.0, "queries": 3, "candidates": 2, "matrix": matrix}},
        {"audio": 0.5},
    )
    second = ({"audio": {"r1": 0.0, "r5": 1.0, "queries": 1, "candidates": 4, "matrix": matrix}}, {})
    retrieval, generation = merge_language_metrics([first, second])
    assert retrieval["audio"]["r1"] == pytest.approx(0.75) and retrieval["audio"]["queries"] == 4
    assert retrieval["audio"]["candidates"] == 6 and generation == {"audio": 0.5}


def test_closed_loop_success_breaks_down_by_any_reset_fact():
    result = ClosedLoop(
        [True, False, True, True],
        [{"condition": "day"}, {"condition": "night"}, {"condition": "night"}, {"variant": "x"}],
    )
    assert result.success == 0.75
    assert result.by("condition") == {"day": 1.0, "night": 0.5} and result.by("variant") == {"x": 1.0}
    drives = ClosedLoop(
        [True, False, True, True],
        [
            {"condition": c, "path": p}
            for c, p in (("day", "blocked"), ("night", "blocked"), ("night", "clear"), ("day", "clear"))
        ],
    )
    assert drives.by("path", within="condition") == {
        "day": {"blocked": 1.0, "clear": 1.0},
        "night": {"blocked": 0.0, "clear": 1.0},
    }


def test_endings_count_episodes_by_how_they_ended():
    loop = ClosedLoop(
        [True, False, False, False], [{"end": e} for e in ("success", "failed", "timeout", "failed")]
    )
    assert loop.endings() == {"failed": 2, "success": 1, "timeout": 1}
    drives = ClosedLoop(
        [True, False, False],
        [
            {"end": e, "condition": c}
            for e, c in (("success", "day"), ("off_road", "night"), ("collision", "night"))
        ],
    )
    assert drives.endings("condition") == {"day": {"success": 1}, "night": {"collision": 1, "off_road": 1}}
