"""FuSe's training objective: action loss + multimodal contrastive loss + sensory-grounded generation.

The step tokenizes its batch once. The action pass sees every sensor and the instruction; one language
pass sees every sensor and no instruction (contrastive over the valid instruction variants, and the
generation of the full description); then `combinations` extra passes, each over the tokens of one
sampled sensor combination only, generate that combination's description. A touch-only pass is a few
tokens, so a FuSe step costs about two full passes, not nine.

The frozen text encoder works outside the module (`Language.prepare`), so the module's forward holds
every trainable computation and DistributedDataParallel sees it all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from fuse_ros.instructions import combinations
from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.policy import ACTION, BEV, LANGUAGE, Policy
from fuse_ros.train import losses
from fuse_ros.train.dataset import Batch


@dataclass(frozen=True)
class LossWeights:
    action: float = 1.0
    contrastive: float = 1.0
    generation: float = 1.0
    uniformity: float = 0.0  # "It's not a modality gap" terms on the sensor embeddings
    alignment: float = 0.0
    symile: float = 0.0  # Symile over (instruction, each sensing group alone): one pass per group
    occupancy: float = 0.0  # driving: BEV occupancy from the BEV readouts (needs policy.bev_grid > 0)
    blocked: float = 0.0  # driving: a blocked path ahead from the action readouts (needs policy.blocked_head)

    @property
    def language(self) -> bool:
        return any((self.contrastive, self.generation, self.uniformity, self.alignment, self.symile))


@dataclass
class Targets:
    """The language side of a step, encoded by the frozen text encoder (no gradients)."""

    task: TokenGroup  # the sampled instructions, (B, L, 384)
    variants: list[tuple[Tensor, TokenGroup]] = field(default_factory=list)  # (rows, canonical texts)
    text_ids: list[Tensor] = field(default_factory=list)  # per variant: id of each row's text (duplicates)
    descriptions: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict)  # combo -> classes, mask


def sensing_groups(policy: Policy) -> list[str]:
    """The groups (visual, tactile, audio, lidar) the policy's sensors cover, in spec order."""
    return list(dict.fromkeys(m.kind.group for m in policy.spec if m.kind.group != "proprio"))


def description_vocabulary(language: LanguageEncoder, texts: Sequence[str], length: int) -> Tensor:
    """Text-encoder ids of every word piece the descriptions use, plus [SEP]: the generation head's
    classes (a few dozen instead of MiniLM's 30,522)."""
    ids, mask = language.tokenize(list(texts) or [""], length)
    return torch.cat([ids[mask], torch.tensor([language.tokenizer.sep_token_id])]).unique()


class Language:
    """Turns a batch's texts into `Targets` for a policy."""

    def __init__(self, encoder: LanguageEncoder, policy: Policy):
        self.encoder, self.policy = encoder, policy
        self.groups = sensing_groups(policy)
        self.full = "+".join(self.groups)

    def combinations(self, k: int, rng: np.random.Generator) -> list[str]:
        """`k` sensor combinations other than the full one, drawn without replacement."""
        others = [c for c in combinations(self.groups) if c != self.full]
        return [str(c) for c in rng.choice(others, size=min(k, len(others)), replace=False)]

    def prepare(self, batch: Batch, weights: LossWeights, combos: Sequence[str]) -> Targets:
        targets = Targets(self.encoder.encode(batch.instructions))
        if not weights.language:
            return targets
        for variant in sorted({v for texts in batch.variant_texts for v in texts}):
            rows = [i for i, texts in enumerate(batch.variant_texts) if variant in texts]
            if len(rows) < 2:
                continue  # a contrast needs a negative
            texts = [batch.variant_texts[i][variant] for i in rows]
            targets.variants.append((torch.tensor(rows), self.encoder.encode(texts)))
            targets.text_ids.append(torch.tensor([texts.index(t) for t in texts]))
        for combo in [self.full, *combos]:
            texts = [self._description(d, combo) for d in batch.descriptions]
            ids, mask = self.encoder.tokenize(texts, self.policy.config.description_tokens)
            said = torch.tensor([bool(t) for t in texts])[:, None]  # rows that have a description
            device = self.encoder.device  # the tokenizer's ids are on the CPU
            ids, mask = ids.contiguous().to(device), (mask & said).to(device)
            targets.descriptions[combo] = (self.policy.generation.classes(ids, mask), mask)
        return targets

    def _description(self, descriptions: dict[str, str], combo: str) -> str:
        """What `combo`'s sensors sensed; for the full set, the richest description the episode has
        among the policy's groups (a button's description has no tactile part)."""
        if combo != self.full:
            return descriptions.get(combo, "")
        fitting = [k for k in descriptions if set(k.split("+")) <= set(self.groups)]
        return descriptions[max(fitting, key=lambda k: len(k.split("+")))] if fitting else ""


class Objective(nn.Module):
    """The policy plus its training losses; `forward` returns each weighted term and their sum.

    sensor_dropout: the chance that the action pass of a window goes without one sensing group (its
    tokens masked, as a sensor that stopped). A policy that can lean on the camera learns to use the
    other senses too, and to act when one of them is lost. The language passes always see everything."""

    def __init__(self, policy: Policy, embodiment: str, weights: LossWeights, sensor_dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= sensor_dropout < 1.0:
            raise ValueError(f"sensor_dropout must be in [0, 1), got {sensor_dropout}")
        self.policy, self.embodiment, self.weights = policy, embodiment, weights
        self.sensor_dropout = sensor_dropout

    def forward(self, batch: Batch, targets: Targets) -> dict[str, Tensor]:
        p, w = self.policy, self.weights
        sensed = p.tokenize(batch.observations, batch.valid, task=targets.task)  # film: instructed stems
        # the language passes must not see the instruction they are matched against
        tokens = p.tokenize(batch.observations, batch.valid) if p.config.film and w.language else sensed
        occupancy = w.occupancy and batch.occupancy is not None
        if self.training and self.sensor_dropout:
            sensed = self._drop_senses(sensed)
        out = p.backbone(sensed, targets.task, readouts=(ACTION, BEV) if occupancy else (ACTION,))
        pred, target = p.action_heads[self.embodiment].regression(out[ACTION], batch.actions)
        terms = {"action": losses.action_loss(pred, target, batch.action_mask, p.config.action_loss)}
        real = batch.action_mask.any(-1)  # (B, W): steps of the episode, not padding
        if occupancy:  # readouts see nothing of one another: the action readout's result is unchanged
            terms["occupancy"] = losses.binary_loss(p.occupancy(out[BEV]), batch.occupancy, real)
        if w.blocked and batch.blocked is not None:
            terms["blocked"] = losses.binary_loss(p.blocked(out[ACTION]), batch.blocked, real)
        if w.language:
            for i, (combo, (classes, mask)) in enumerate(targets.descriptions.items()):
                names = None if i == 0 else p.spec.modalities_for(combo)  # the first is the full combination
                readouts = p.backbone(tokens, None, (LANGUAGE,), names)[LANGUAGE].step(-1)
                if names is None:  # the full pass: also the contrastive embedding
                    terms |= self._contrastive(p.contrastive.embed_readouts(readouts), targets)
                if mask.any():
                    logits = p.generation(readouts)
                    terms[f"generation/{combo}"] = losses.generation_loss(logits, classes, mask)
        if w.symile:
            terms |= self._symile(tokens, batch, targets)
        return terms

    def _drop_senses(self, tokens: dict[str, TokenGroup]) -> dict[str, TokenGroup]:
        """Each window loses each sensing group with probability sensor_dropout, never all of them."""
        groups = sensing_groups(self.policy)
        if len(groups) < 2:
            return tokens
        first = next(iter(tokens.values())).tokens
        drop = torch.rand(len(first), len(groups), device=first.device) < self.sensor_dropout
        rows = drop.all(1).nonzero()[:, 0]  # every sense dropped: one chosen at random stays
        drop[rows, torch.randint(len(groups), (len(rows),), device=first.device)] = False
        kept = dict(tokens)
        for j, group in enumerate(groups):
            for name in self.policy.spec.modalities_for(group):
                if name in tokens:
                    mask = tokens[name].mask & ~drop[:, j, None, None]
                    kept[name] = TokenGroup(tokens[name].tokens, mask)
        return kept

    def _symile(self, tokens: dict, batch: Batch, targets: Targets) -> dict[str, Tensor]:
        """The instruction and each sensing group's own embedding must single out one another's rows
        jointly (higher-order than pairwise CLIP); rows without an instruction sit out."""
        p, groups = self.policy, sensing_groups(self.policy)
        rows = torch.tensor([bool(text) for text in batch.instructions], device=targets.task.tokens.device)
        if len(groups) < 2 or rows.sum() < 2:
            return {}
        embeddings = [p.contrastive.embed_text(targets.task)[rows]]
        for group in groups:
            readouts = p.backbone(tokens, None, (LANGUAGE,), p.spec.modalities_for(group))[LANGUAGE].step(-1)
            embeddings.append(p.contrastive.embed_readouts(readouts)[rows])
        return {"symile": losses.symile_loss(embeddings, p.contrastive.log_logit_scale)}

    def _contrastive(self, sensed: Tensor, targets: Targets) -> dict[str, Tensor]:
        head, terms = self.policy.contrastive, {}
        clips, aligns = [], []
        for (rows, text), ids in zip(targets.variants, targets.text_ids, strict=True):
            said = head.embed_text(text)
            rows = rows.to(sensed.device)
            positives = ids[:, None] == ids[None, :]
            clips.append(
                losses.clip_loss(sensed[rows], said, head.log_logit_scale, positives.to(sensed.device))
            )
            aligns.append(losses.alignment(sensed[rows], said))
        if clips:
            terms["contrastive"] = torch.stack(clips).mean()
            terms["alignment"] = torch.stack(aligns).mean()
        if len(sensed) > 1:
            terms["uniformity"] = losses.uniformity(sensed)
        return terms


def total(terms: dict[str, Tensor], weights: LossWeights) -> Tensor:
    """Weighted sum: generation terms are averaged over the combinations that had targets."""
    generation = [v for k, v in terms.items() if k.startswith("generation/")]
    parts = [weights.action * terms["action"]]
    if generation:
        parts.append(weights.generation * torch.stack(generation).mean())
    for name in ("contrastive", "uniformity", "alignment", "symile", "occupancy", "blocked"):
        if name in terms and getattr(weights, name):
            parts.append(getattr(weights, name) * terms[name])
    return torch.stack(parts).sum()
