"""Gradient-weighted attention relevance of Chefer, Gur & Wolf 2021 (ICCV, "Generic
attention-model explainability") for timm ViT/DeiT."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer
from ferlens.saliency.transformers import forward_with_attention, patch_relevance_map


@register_explainer("chefer")
class CheferRelevance(Explainer):
    """R = I, then for each block l in forward order R <- R + mean over heads of
    relu(dS/dA_l * A_l) R (A_l its attention, S the target logit); map =
    ``transformers.patch_relevance_map`` of R - I (the self-relevance every token starts with).
    Non-negative. A network without global self-attention is refused in one sentence."""

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, attentions, grid = forward_with_attention(model, images, self.name)
        gradients = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), attentions)
        tokens = attentions[0].shape[-1]
        identity = torch.eye(tokens, device=images.device)
        relevance = identity.expand(len(images), -1, -1)
        for attention, gradient in zip(attentions, gradients, strict=True):
            relevance = relevance + F.relu(gradient * attention).mean(dim=1).detach() @ relevance
        return patch_relevance_map(relevance - identity, getattr(model, "num_prefix_tokens", 0), grid, images.shape[-2:])
