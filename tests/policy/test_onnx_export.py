"""The policy exports to ONNX with a dynamic batch and a dynamic lidar point count, and onnxruntime
agrees with torch. One export of a small policy over all five sensor kinds (~15 s)."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from fuse_ros.nn.tokens import TokenGroup

MODALITIES = ["image", "tactile", "audio", "lidar", "proprio"]


class ActionGraph(torch.nn.Module):
    """Flat tensor inputs, as an exported graph and the ROS node see them."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def forward(self, image, tactile, audio, lidar, lidar_count, proprio, valid, task_tokens, task_mask):
        batch = {"image": image, "tactile": tactile, "audio": audio, "lidar": lidar}
        batch.update(lidar_count=lidar_count, proprio=proprio)
        masks = {name: valid[:, :, i] for i, name in enumerate(MODALITIES)}
        return self.policy.predict_actions(batch, masks, TokenGroup(task_tokens, task_mask), "manipulation")


def inputs(make_batch, make_task, batch: int, points: int, seed: int) -> dict[str, torch.Tensor]:
    data = make_batch(batch=batch, points=points, seed=seed)
    task = make_task(batch=batch, seed=seed)
    valid = torch.rand(batch, 2, len(MODALITIES), generator=torch.Generator().manual_seed(seed)) > 0.3
    return {**data, "valid": valid, "task_tokens": task.tokens, "task_mask": task.mask}


@pytest.mark.filterwarnings("ignore")
def test_dynamic_batch_and_point_count_match_onnxruntime(policy, make_batch, make_task, tmp_path):
    graph = ActionGraph(policy).eval()
    example = inputs(make_batch, make_task, batch=2, points=50, seed=0)
    batch = torch.export.Dim("batch", min=1, max=256)
    points = torch.export.Dim("points", min=2, max=65536)
    dynamic = {name: {0: batch} for name in example}
    dynamic["lidar"] = {0: batch, 2: points}
    path = tmp_path / "policy.onnx"
    torch.onnx.export(
        graph,
        (),
        path,
        kwargs=example,
        dynamo=True,
        dynamic_shapes=dynamic,
        input_names=list(example),
        output_names=["actions"],
        external_data=False,
    )
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for b, p in [(3, 777), (1, 5)]:
        feeds = inputs(make_batch, make_task, batch=b, points=p, seed=b)
        with torch.no_grad():
            expected = graph(**feeds).numpy()
        (actions,) = session.run(None, {k: v.numpy() for k, v in feeds.items()})
        assert actions.shape == (b, 4, 7)
        np.testing.assert_allclose(actions, expected, atol=1e-4, rtol=0)
