"""Shared piece of the transformer explainers (attention rollout, Chefer et al.'s relevance):
the attention probabilities of every global self-attention block of a timm ViT/DeiT, read
through the blocks' ``attn_drop`` (the unfused path, which gives the same logits), and the
token relevance as a map on the patch grid."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ferlens.networks.features import capture_features
from ferlens.saliency.cam import upsample
from ferlens.user_errors import UserError


class NoAttentionError(UserError):
    """Raised for a transformer explainer on a network without global self-attention."""


def attention_blocks(model: nn.Module) -> list[nn.Module]:
    """The timm self-attention modules (``qkv``, ``num_heads``, ``attn_drop``, ``fused_attn``), in forward order."""
    return [module for module in model.modules() if all(hasattr(module, key) for key in ("qkv", "num_heads", "attn_drop", "fused_attn"))]


@contextlib.contextmanager
def captured_attention(model: nn.Module, method: str) -> Iterator[list[torch.Tensor]]:
    """Within the block, the list holds each attention module's probabilities [B, heads, N, N]
    of the latest forward pass, in the autograd graph; the modules compute unfused meanwhile."""
    blocks = attention_blocks(model)
    if not blocks:
        raise NoAttentionError(
            f"{method} needs a transformer with self-attention blocks (a timm ViT or DeiT); {type(model).__name__} has none: choose a CAM or gradient method."
        )
    probabilities: list[torch.Tensor] = []
    fused = [block.fused_attn for block in blocks]
    handles = [block.attn_drop.register_forward_hook(lambda _module, _inputs, output: probabilities.append(output)) for block in blocks]
    try:
        for block in blocks:
            block.fused_attn = False
        yield probabilities
    finally:
        for block, was in zip(blocks, fused, strict=True):
            block.fused_attn = was
        for handle in handles:
            handle.remove()


def forward_with_attention(model: nn.Module, images: torch.Tensor, method: str) -> tuple[torch.Tensor, list[torch.Tensor], tuple[int, int]]:
    """(logits [B, K], the attention [B, heads, N, N] of every block, the (h, w) patch grid);
    refuses windowed attention (Swin), whose maps are not over the image's tokens."""
    probabilities: list[torch.Tensor]
    with captured_attention(model, method) as probabilities, capture_features(model) as captured:
        logits = model(images)
    grid = tuple(captured["features"].shape[-2:])
    tokens = getattr(model, "num_prefix_tokens", 0) + grid[0] * grid[1]
    if any(a.shape[0] != len(images) or a.shape[-1] != tokens for a in probabilities):
        raise NoAttentionError(
            f"{method} needs global self-attention over the image's tokens; {type(model).__name__} attends within windows (Swin-like): "
            "choose a CAM or gradient method."
        )
    return logits, list(probabilities), grid  # type: ignore[return-value]


def patch_relevance_map(relevance: torch.Tensor, prefix: int, grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """[B, N, N] token-to-token relevance -> [B, H, W]: the mean over the patch tokens' rows
    (ferlens' head averages the patch tokens) of their relevance to each patch token, on the
    (h, w) ``grid``, upsampled bilinear to ``size``."""
    patches = relevance[:, prefix:, prefix:].mean(dim=1)
    return upsample(patches.reshape(-1, *grid), size)
