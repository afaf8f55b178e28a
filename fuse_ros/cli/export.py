"""`fuse-export`: checkpoint -> `<out>/model.onnx` + `manifest.json` (+ `parity.json` with verify=true)."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fuse_ros.export.manifest import ExportError
from fuse_ros.export.readiness import ReadinessError
from fuse_ros.policy import CheckpointError
from fuse_ros.runtime import RuntimeMissing


def language_encoder(enabled: bool, max_tokens: int):
    """The frozen text encoder's `encode` (task tokens are computed outside the graph), or None."""
    if not enabled:
        return None
    from fuse_ros.nn.language import LanguageEncoder

    return LanguageEncoder(max_tokens).encode


def default_task(embodiment: str) -> str:
    return "driving" if embodiment == "driving" else "grasp"


def run(cfg: DictConfig) -> None:
    from fuse_ros.export.onnx import export_onnx, load_exported
    from fuse_ros.export.parity import verify
    from fuse_ros.export.readiness import require_ready

    out = Path(cfg.out)
    manifest = export_onnx(
        cfg.checkpoint, out, cfg.embodiment, tuple(cfg.outputs), cfg.max_batch, cfg.max_points
    )
    print(f"exported {out / 'model.onnx'} (opset {manifest.opset}, sha256 {manifest.sha256['onnx'][:12]})")
    if cfg.readiness:
        require_ready(out / "model.onnx")
    if cfg.verify:
        encoder = language_encoder(cfg.language, manifest.policy["max_task_tokens"])
        task = cfg.task or default_task(manifest.embodiment)
        verify(cfg.checkpoint, out, task, cfg.steps, encoder, cfg.tolerance)
    if cfg.tensorrt:  # build only: prepare the engine on the target, ahead of time
        from fuse_ros.export.tensorrt import EngineCache, prepare_engine

        path, manifest = load_exported(out)
        prepare_engine(path, manifest, EngineCache(out / "engines"), cfg.precision)
        print(f"TensorRT engine ({cfg.precision}) cached under {out / 'engines'}")


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
def _main(cfg: DictConfig) -> None:
    if not cfg.checkpoint or not cfg.out:
        sys.exit("fuse-export: give checkpoint=<dir> and out=<dir>")
    try:
        run(cfg)
    except (CheckpointError, ExportError, ReadinessError, RuntimeMissing, ValueError) as err:
        sys.exit(f"fuse-export: {err}")


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
