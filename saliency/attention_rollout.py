"""Attention rollout (Abnar & Zuidema 2020) for timm ViT/DeiT."""

from __future__ import annotations

import torch
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer
from ferlens.saliency.transformers import forward_with_attention, patch_relevance_map


@register_explainer("attention_rollout")
class AttentionRollout(Explainer):
    """R = A'_L ... A'_1 with A'_l = (mean over heads of block l's attention + I) / 2 (rows sum
    to 1); map = ``transformers.patch_relevance_map`` of R. Class-agnostic (``targets`` are not
    used); non-negative. A network without global self-attention is refused in one sentence."""

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            _, attentions, grid = forward_with_attention(model, images, self.name)
        tokens = attentions[0].shape[-1]
        identity = torch.eye(tokens, device=images.device)
        rollout = identity.expand(len(images), -1, -1)
        for attention in attentions:
            rollout = ((attention.mean(dim=1) + identity) / 2) @ rollout
        return patch_relevance_map(rollout, getattr(model, "num_prefix_tokens", 0), grid, images.shape[-2:])
