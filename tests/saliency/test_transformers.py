"""Attention rollout and Chefer et al.'s relevance on timm ViT/DeiT: the unfused attention
they read gives the network's own logits, rollout's known value where every attention is
uniform, the relevance recursion written out head by head, and one-sentence refusals on a CNN
and on windowed attention (Swin)."""

import pytest
import torch
import torch.nn.functional as F

from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.saliency.transformers import NoAttentionError, attention_blocks, captured_attention, forward_with_attention


@pytest.fixture(scope="module")
def vit() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network("test_vit", 6, input_size=64).eval()


def test_the_attention_read_unfused_gives_the_networks_own_logits(vit):
    images = torch.rand(2, 3, 64, 64)
    before = [block.fused_attn for block in attention_blocks(vit)]
    with torch.no_grad():
        fused = vit(images)
        logits, attentions, grid = forward_with_attention(vit, images, "attention_rollout")
    assert torch.allclose(logits, fused, atol=1e-5) and grid == (4, 4)
    assert len(attentions) == len(attention_blocks(vit)) > 0 and all(a.shape == (2, a.shape[1], 17, 17) for a in attentions)  # class token + 16 patches
    assert all(torch.allclose(a.sum(dim=-1), torch.ones(1)) for a in attentions)
    assert [block.fused_attn for block in attention_blocks(vit)] == before  # restored


def test_rollout_of_uniform_attention_is_its_closed_form(vit):
    uniform = build_network("test_vit", 6, input_size=64).eval()
    uniform.load_state_dict(vit.state_dict())
    with torch.no_grad():
        for block in attention_blocks(uniform):
            width = block.qkv.weight.shape[0] // 3
            block.qkv.weight[: 2 * width] = 0  # q = k = 0 (+ bias): every score equal, attention 1/N
            if block.qkv.bias is not None:
                block.qkv.bias[: 2 * width] = 0
    layers, tokens, patches = len(attention_blocks(uniform)), 17, 16
    maps = build_explainer("attention_rollout")(uniform, torch.rand(2, 3, 64, 64), torch.tensor([0, 1]))
    # ((J/N + I)/2)^L = I / 2^L + (1 - 1 / 2^L) J/N, averaged over the patch rows at each patch
    expected = 0.5**layers / patches + (1 - 0.5**layers) / tokens
    assert torch.allclose(maps, torch.full_like(maps, expected), atol=1e-6)


def test_chefer_relevance_is_its_recursion_written_head_by_head(vit):
    images, targets = torch.rand(2, 3, 64, 64), torch.tensor([3, 5])
    ours = build_explainer("chefer")(vit, images, targets)
    with captured_attention(vit, "chefer") as attentions:
        logits = vit(images)
    gradients = torch.autograd.grad(logits[torch.arange(2), targets].sum(), attentions)
    expected = []
    for b in range(2):
        relevance = torch.eye(17)
        for attention, gradient in zip(attentions, gradients, strict=True):
            heads = attention.shape[1]
            weighted = sum(torch.clamp(gradient[b, h] * attention[b, h], min=0) for h in range(heads)) / heads
            relevance = relevance + weighted.detach() @ relevance
        patch_map = (relevance - torch.eye(17))[1:, 1:].mean(dim=0).reshape(1, 1, 4, 4)
        expected.append(F.interpolate(patch_map, size=(64, 64), mode="bilinear", align_corners=False)[0, 0])
    assert torch.allclose(ours, torch.stack(expected), rtol=1e-5, atol=1e-9) and (ours >= 0).all() and ours.amax() > 0
    other = build_explainer("chefer")(vit, images, torch.tensor([0, 0]))
    assert not torch.allclose(other, ours)  # class-specific


@pytest.mark.parametrize("method", ["attention_rollout", "chefer"])
def test_a_network_without_global_attention_is_refused_in_one_sentence(method):
    images = torch.rand(1, 3, 64, 64)
    cnn = build_network("smallcnn", 6)
    with pytest.raises(
        NoAttentionError,
        match=rf"^{method} needs a transformer with self-attention blocks \(a timm ViT or DeiT\); SmallCNN has none: choose a CAM or gradient method\.$",
    ):
        build_explainer(method)(cnn, images, torch.tensor([0]))
    swin = build_network("swin_tiny_patch4_window7_224", 6, embed_dim=24, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))
    with pytest.raises(
        NoAttentionError, match=rf"^{method} needs global self-attention over the image's tokens; TimmClassifier attends within windows \(Swin-like\): choose"
    ):
        build_explainer(method)(swin, torch.rand(1, 3, 224, 224), torch.tensor([0]))
