"""The human-readable model card shows every figure of model_card.json that a reader compares."""

from fuse_ros.policy.card import render


def test_a_driving_card_shows_success_by_condition_and_by_blocked_or_clear_path():
    card = {
        "name": "tiny driving",
        "summary": "camera + lidar",
        "experiment": "driving_fuse",
        "modalities": ["image_front", "lidar", "proprio"],
        "parameters": 1_500_000,
        "training": {"data": ["runs/a"], "init": None, "steps": 10, "batch_size": 4, "lr": 1e-3},
        "episodes": 8,
        "seed": 1000,
        "success": {"driving": 0.5},
        "success_by_variant": {"driving": {"lidar": 0.5}},
        "success_by_condition": {"driving": {"day": 0.75, "night": 0.25}},
        "success_by_path": {"driving": {"day": {"blocked": 0.5, "clear": 1.0}, "night": {"blocked": 0.0}}},
        "reproduce": "fuse-eval ...",
    }
    text = render(card)
    assert "| driving | 0.75 | 0.25 |" in text
    assert "| day | 0.50 | 1.00 |" in text and "| night | 0.00 | – |" in text
