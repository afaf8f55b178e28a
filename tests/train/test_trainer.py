import itertools
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fuse_ros.envs.driving.geometry import path_blocked
from fuse_ros.policy import load_policy
from fuse_ros.train import benchmark
from fuse_ros.train.fit import measure_fit
from fuse_ros.train.objective import LossWeights, Objective, total
from fuse_ros.train.state import read_metrics
from fuse_ros.train.trainer import TrainConfig, Trainer, learning_rate
from tests.train.conftest import make_dataset

VISION = ["image_primary", "proprio"]


def config(dataset, out, tiny, **overrides) -> TrainConfig:
    values = dict(
        data=[str(dataset)], out=str(out), policy=tiny, batch_size=4, steps=2, warmup=1, progress=False
    )
    return TrainConfig(**{**values, **overrides})


def test_learning_rate_warms_up_then_decays_to_zero():
    c = TrainConfig(data=["x"], out="y", steps=100, warmup=10, lr=1.0)
    rates = [learning_rate(s, c) for s in range(101)]
    assert rates[0] == pytest.approx(0.1) and max(rates) == pytest.approx(rates[9])
    assert all(a >= b for a, b in itertools.pairwise(rates[9:])) and rates[100] == 0.0


@pytest.fixture(scope="module")
def pretrained(dataset, tmp_path_factory):
    from tests.train.conftest import TINY

    out = tmp_path_factory.mktemp("runs") / "pretrain"
    Trainer(config(dataset, out, TINY, modalities=VISION, loss={"contrastive": 0, "generation": 0})).run()
    return out


def test_fuse_fine_tuning_loads_the_pretrained_weights_onto_new_sensors(
    dataset, pretrained, tmp_path, tiny, capsys
):
    trainer = Trainer(config(dataset, tmp_path / "fuse", tiny, init=str(pretrained)))
    printed = capsys.readouterr().out
    assert "new (freshly initialised):" in printed and "tokenizers.tactile_left" in printed
    before = load_file(pretrained / "model.safetensors")
    now = trainer.policy.state_dict()
    assert torch.equal(
        now["tokenizers.image_primary.proj.weight"], before["tokenizers.image_primary.proj.weight"]
    )
    figures = trainer.run()
    assert {"action", "contrastive", "alignment"} <= set(figures)
    assert any(k.startswith("generation/") for k in figures) and np.isfinite(figures["loss"])
    policy = load_policy(tmp_path / "fuse")
    assert policy.spec.names() == trainer.policy.spec.names()
    assert json.loads((tmp_path / "fuse" / "training.json").read_text())["step"] == 2
    assert sorted(p.suffix for p in (tmp_path / "fuse").iterdir() if p.is_file()) == sorted(
        [".json", ".safetensors", ".json", ".json", ".safetensors", ".jsonl"]
    )


def test_a_diffusion_head_takes_the_place_of_the_generalists_regression_head(
    dataset, pretrained, tmp_path, tiny, capsys
):
    diffusion = {**tiny, "action_head": "diffusion", "diffusion_steps": 5}
    trainer = Trainer(config(dataset, tmp_path / "run", diffusion, init=str(pretrained)))
    new, dropped = capsys.readouterr().out.split("new (freshly initialised):")[1].split("dropped")[:2]
    assert "action_heads.manipulation" in new and "action_heads.manipulation" in dropped
    assert np.isfinite(trainer.run()["action"])
    policy = load_policy(tmp_path / "run").eval()
    batch = next(trainer.batches())
    noise = torch.randn(4, policy.config.action_chunk, 7)
    with torch.no_grad():
        chunks = [policy.predict_actions(batch.observations, batch.valid, noise=noise) for _ in range(2)]
    assert chunks[0].shape == (4, policy.config.action_chunk, 7) and torch.isfinite(chunks[0]).all()
    assert torch.equal(chunks[0], chunks[1])


def test_the_language_losses_train_the_new_sensors_and_action_only_does_not(dataset, tmp_path, tiny):
    trainer = Trainer(config(dataset, tmp_path / "run", tiny))
    batch = next(trainer.batches())
    for weights, heads_learn in ((LossWeights(), True), (LossWeights(contrastive=0, generation=0), False)):
        trainer.policy.zero_grad(set_to_none=True)
        targets = trainer.texts.prepare(
            batch, weights, trainer.texts.combinations(2, np.random.default_rng(0))
        )
        total(Objective(trainer.policy, "manipulation", weights)(batch, targets), weights).backward()
        grads = {n: p.grad for n, p in trainer.policy.named_parameters()}
        assert grads["tokenizers.audio.proj.weight"].abs().sum() > 0
        assert (grads["contrastive.log_logit_scale"] is not None) == heads_learn
        assert (grads["generation.logits.weight"] is not None) == heads_learn


def test_resume_continues_from_the_saved_step_and_optimizer(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    Trainer(config(dataset, out, tiny, modalities=VISION, steps=2, log_every=1)).run()
    moments = load_file(out / "optimizer.safetensors")
    resumed = Trainer(config(dataset, out, tiny, modalities=VISION, steps=3, log_every=1))
    assert resumed.step == 2
    state = resumed.optimizer.state_dict()["state"]
    assert torch.equal(state[0]["exp_avg"], moments["state.0.exp_avg"])
    resumed.run()
    assert [m["step"] for m in read_metrics(out)] == [1, 2, 3]


def test_the_symile_option_trains_every_group_with_the_instruction(dataset, tmp_path, tiny):
    trainer = Trainer(config(dataset, tmp_path / "run", tiny))
    batch = next(trainer.batches())
    weights = LossWeights(action=0, contrastive=0, generation=0, symile=1.0)  # symile alone
    targets = trainer.texts.prepare(batch, weights, [])
    terms = Objective(trainer.policy, "manipulation", weights)(batch, targets)
    assert torch.isfinite(terms["symile"]) and terms["symile"] > 0
    total(terms, weights).backward()
    grads = {n: p.grad for n, p in trainer.policy.named_parameters()}
    assert grads["contrastive.log_logit_scale"] is not None
    for tokenizer in ("audio", "tactile_left", "image_primary"):  # each group's own pass
        assert grads[f"tokenizers.{tokenizer}.proj.weight"].abs().sum() > 0


def test_a_resumed_run_sees_the_batches_the_uninterrupted_run_would_have(dataset, tmp_path, tiny):
    trainer = Trainer(config(dataset, tmp_path / "run", tiny, modalities=VISION))
    trainer.step = len(trainer._loader(0)) + 1  # the second batch of the second epoch
    resumed = list(itertools.islice(trainer.batches(), 2))
    trainer.step = 0
    uninterrupted = list(itertools.islice(trainer.batches(), len(trainer._loader(0)) + 3))
    for a, b in zip(uninterrupted[-2:], resumed, strict=True):
        assert torch.equal(a.actions, b.actions) and a.instructions == b.instructions


def test_the_occupancy_loss_trains_the_bev_head_from_the_driving_ground_truth(tmp_path, tiny):
    data = make_dataset(tmp_path / "driving", task="driving", episodes=1, max_steps=6)
    bev = {**tiny, "bev_grid": 8}
    with pytest.raises(ValueError, match=r"loss\.occupancy needs a BEV head: set policy\.bev_grid"):
        Trainer(config(data, tmp_path / "none", tiny, embodiment="driving", loss={"occupancy": 1.0}))
    weights = LossWeights(contrastive=0, generation=0, occupancy=1.0)
    trainer = Trainer(config(data, tmp_path / "run", bev, embodiment="driving", loss=weights))
    batch = next(trainer.batches())
    assert batch.occupancy.shape == (4, 2, 8, 8) and set(batch.occupancy.unique().tolist()) <= {0.0, 1.0}
    terms = Objective(trainer.policy, "driving", weights)(batch, trainer.texts.prepare(batch, weights, []))
    assert torch.isfinite(terms["occupancy"]) and terms["occupancy"] > 0
    total(terms, weights).backward()
    grads = {n: p.grad for n, p in trainer.policy.named_parameters()}
    assert grads["occupancy.net.1.weight"].abs().sum() > 0
    assert grads["tokenizers.lidar.proj.weight"].abs().sum() > 0


def test_the_blocked_path_loss_teaches_the_action_readouts_from_the_driving_ground_truth(tmp_path, tiny):
    data = make_dataset(tmp_path / "driving", task="driving", episodes=1, max_steps=6)
    with pytest.raises(
        ValueError, match=r"loss\.blocked needs the blocked-path head: set policy\.blocked_head"
    ):
        Trainer(config(data, tmp_path / "none", tiny, embodiment="driving", loss={"blocked": 1.0}))
    weights = LossWeights(contrastive=0, generation=0, blocked=1.0)
    head = {**tiny, "blocked_head": True}
    trainer = Trainer(config(data, tmp_path / "run", head, embodiment="driving", loss=weights))
    dataset = trainer.datasets[0]
    episode, (_, t) = dataset.episodes[0], dataset.index[3]
    boxes, counts, speeds = (episode.extras[k] for k in ("boxes", "boxes_count", "boxes_speed"))
    expected = [path_blocked(boxes[r], int(counts[r]), speeds[r]) for r in (t - 1, t)]
    assert dataset[3]["blocked"].tolist() == [float(b) for b in expected]
    batch = next(trainer.batches())
    assert batch.blocked.shape == (4, 2)
    terms = Objective(trainer.policy, "driving", weights)(batch, trainer.texts.prepare(batch, weights, []))
    assert torch.isfinite(terms["blocked"]) and terms["blocked"] > 0
    total(terms, weights).backward()
    grads = {n: p.grad for n, p in trainer.policy.named_parameters()}
    assert grads["blocked.net.1.weight"].abs().sum() > 0
    assert grads["readouts.action"].abs().sum() > 0 and grads["tokenizers.lidar.proj.weight"].abs().sum() > 0
    state = trainer.policy.state_dict()
    assert "blocked.net.1.weight" in state  # saved with the policy, loaded with it


def test_fit_measures_the_action_loss_training_lowers_and_the_variance_it_explains(dataset, tmp_path, tiny):
    """`python -m fuse_ros.train.fit`: the action loss of a checkpoint on a dataset, lower once trained,
    and the share of each action dimension's variance it explains, higher."""
    run = tmp_path / "run"
    Trainer(config(dataset, run, tiny, modalities=VISION, steps=1, warmup=1)).run()
    before = measure_fit(run, dataset, windows=16)
    Trainer(config(dataset, run, tiny, modalities=VISION, steps=60, warmup=1, lr=3e-3)).run()
    after = measure_fit(run, dataset, windows=16)
    assert np.isfinite(before.loss) and 0 < after.loss < before.loss
    assert before.explained.shape == (7,) and np.all(after.explained <= 1.0)
    assert after.explained.mean() > before.explained.mean()


def test_sensor_dropout_masks_whole_senses_of_some_windows_and_never_all(dataset, tmp_path, tiny):
    trainer = Trainer(config(dataset, tmp_path / "run", tiny, sensor_dropout=0.9))
    batch = next(trainer.batches())
    objective = trainer.objective
    tokens = trainer.policy.tokenize(batch.observations, batch.valid)
    torch.manual_seed(0)
    kept = objective._drop_senses(tokens)
    seen = {g: kept[names[0]].mask.flatten(1).any(1) for g, names in GROUP_MODALITIES.items()}
    for group, names in GROUP_MODALITIES.items():  # a group goes as a whole: all its sensors, every step
        for name in names:
            np.testing.assert_array_equal(kept[name].mask.flatten(1).any(1), seen[group])
            assert torch.equal(kept[name].tokens, tokens[name].tokens)  # masked, not changed
    rows_with_a_sense = torch.stack(list(seen.values())).any(0)
    assert rows_with_a_sense.all() and not torch.stack(list(seen.values())).all()  # some dropped, never all
    assert torch.equal(kept["proprio"].mask, tokens["proprio"].mask)

    weights = LossWeights(contrastive=0, generation=0)
    targets = trainer.texts.prepare(batch, weights, [])
    torch.manual_seed(1)
    dropped = objective(batch, targets)["action"]
    objective.eval()  # evaluation sees every sensor
    assert objective(batch, targets)["action"] != dropped
    assert (
        objective(batch, targets)["action"]
        == Objective(trainer.policy, "manipulation", weights)(batch, targets)["action"]
    )


GROUP_MODALITIES = {
    "visual": ["image_primary", "image_wrist"],
    "tactile": ["tactile_left", "tactile_right"],
    "audio": ["audio"],
}


def test_with_film_the_action_loss_trains_the_instruction_into_the_cameras_and_language_does_not(
    dataset, tmp_path, tiny
):
    trainer = Trainer(config(dataset, tmp_path / "run", {**tiny, "film": True}))
    batch = next(trainer.batches())
    film = trainer.policy.tokenizers["image_primary"].film.weight
    for weights, film_learns in (
        (LossWeights(contrastive=0, generation=0), True),
        (LossWeights(action=0), False),
    ):
        trainer.policy.zero_grad(set_to_none=True)
        targets = trainer.texts.prepare(batch, weights, [])
        total(Objective(trainer.policy, "manipulation", weights)(batch, targets), weights).backward()
        assert (film.grad is not None and film.grad.abs().sum() > 0) == film_learns


def test_compiled_blocks_and_bf16_autocast_take_the_step_eager_fp32_takes(dataset, tmp_path, tiny):
    """The GPU options change the arithmetic, not the step: same batch, same sampled combinations, same
    losses (bf16 to its precision)."""
    figures = {}
    for name, options in {"eager": {}, "compiled": {"compile": True}, "bf16": {"precision": "bf16"}}.items():
        trainer = Trainer(config(dataset, tmp_path / name, tiny, resume=False, **options))
        figures[name] = trainer.train_step(next(trainer.batches()))
    eager = figures["eager"]
    assert any(k.startswith("generation/") for k in eager)
    for key in ("action", "contrastive", "loss"):
        assert figures["compiled"][key] == pytest.approx(eager[key], rel=1e-4), key
        assert figures["bf16"][key] == pytest.approx(eager[key], rel=0.05), key
        assert figures["bf16"][key] != eager[key], key  # autocast did run in bf16


def test_a_precision_other_than_fp32_or_bf16_is_refused():
    with pytest.raises(ValueError, match=r"precision must be one of \['fp32', 'bf16'\], got 'fp16'"):
        TrainConfig(data=["x"], out="y", precision="fp16")


def test_the_train_benchmark_times_every_setting_it_is_asked_for(dataset, tmp_path, tiny, capsys):
    out = tmp_path / "bench.json"
    args = [str(dataset), "--batch", "4", "--warmup", "1", "--repeats", "1", "--precision", "fp32", "bf16"]
    results = benchmark.main([*args, "--combinations", "0", "2", "--json", str(out)])
    steps = ["action-only", "FuSe, 0 combinations", "FuSe, 2 combinations"]
    assert [(r.precision, r.step) for r in results] == [(p, s) for p in ("fp32", "bf16") for s in steps]
    assert all(r.ms > 0 and r.peak_gib is None for r in results)  # no GPU here: no GPU memory figure
    assert len(json.loads(out.read_text())["results"]) == 6
    assert "bf16 FuSe, 2 combinations" in capsys.readouterr().out
