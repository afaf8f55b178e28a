"""A shipped checkpoint's model card: the numbers (`model_card.json`, eval.json's keys plus where the
weights came from) and the same numbers for people (`README.md`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_FILE = "model_card.json"
README_FILE = "README.md"


def _rate_table(title: str, rows: dict[str, dict[str, float]], columns: list[str]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, values in rows.items():
        cells = [f"{values[c]:.2f}" if c in values else "–" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def render(card: dict[str, Any]) -> str:
    """The human-readable card: what the policy is, how it was trained, and its measured numbers."""
    training = card["training"]
    data = ", ".join(Path(d).name for d in training["data"])
    tasks = list(card["success"])
    success = {t: {"train objects": card["success"][t]} for t in tasks}
    for t, rate in card.get("success_unseen", {}).items():
        success[t]["unseen objects"] = rate
    variants = sorted({v for by in card["success_by_variant"].values() for v in by})
    lines = [
        f"# {card['name']}",
        "",
        card["summary"],
        "",
        f"Sensors: {', '.join(card['modalities'])}. Size: {card['parameters'] / 1e6:.2f} M parameters. "
        "Weights in fp16 (`model.safetensors`), architecture in `config.json`, statistics in `stats.json`.",
        "",
        "## Training",
        "",
        f"`fuse-train experiment={card['experiment']}` for {training['steps']} steps (batch "
        f"{training['batch_size']}, lr {training['lr']}) on {data}"
        + (
            f", starting from the pretrained policy `{Path(training['init']).name}`."
            if training["init"]
            else "."
        ),
        "",
        f"## Closed-loop success ({card['episodes']} episodes per task and split, seeds from {card['seed']})",
        "",
        *_rate_table("task", success, ["train objects", "unseen objects"]),
        "",
        *_rate_table("task, by instruction variant", card["success_by_variant"], variants),
        "",
    ]
    if card.get("success_by_condition"):
        by_condition = card["success_by_condition"]
        conditions = list(dict.fromkeys(c for by in by_condition.values() for c in by))
        lines += [*_rate_table("task, by condition", by_condition, conditions), ""]
    for task, by_path in card.get("success_by_path", {}).items():  # blocked lane: where seeing pays
        lines += [*_rate_table(f"{task}, by condition and path", by_path, ["blocked", "clear"]), ""]
    if card.get("retrieval"):
        lines += ["## Cross-modal retrieval (sensors -> instruction)", ""]
        lines += [*_rate_table("sensors", card["retrieval"], ["r1", "r5"]), ""]
    if card.get("generation_accuracy"):
        rows = {k: {"token accuracy": v} for k, v in card["generation_accuracy"].items()}
        lines += ["## Description generation", "", *_rate_table("sensors", rows, ["token accuracy"]), ""]
    lines += ["## Reproduce", "", "```bash", card["reproduce"], "```", ""]
    return "\n".join(lines)


def write_card(folder: Path, card: dict[str, Any]) -> None:
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2))
    (folder / README_FILE).write_text(render(card))
