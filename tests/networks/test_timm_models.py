"""Any timm model, transformers included: token features become a [B, C, h, w] grid at the CAM
layer (prefix tokens dropped), pooled into the linear head; extra ``model.net.*`` keys go to
``timm.create_model``. Tiny random-init configurations keep the tests fast."""

from __future__ import annotations

import pytest
import torch

from ferlens.networks.features import capture_features
from ferlens.networks.registry import build_network
from ferlens.user_errors import UserError

TINY_VIT = {"patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2}
#: name -> (timm id, build arguments, prefix tokens)
TOKEN_MODELS = {
    "vit with register tokens": ("vit_tiny_patch16_224", {"input_size": 32, "reg_tokens": 3, **TINY_VIT}, 4),
    "deit distilled": ("deit_tiny_distilled_patch16_224", {"input_size": 32, **TINY_VIT}, 2),  # class + distillation
}


@pytest.mark.parametrize("model", list(TOKEN_MODELS))
def test_vit_tokens_become_the_patch_grid_without_prefix_tokens(model):
    timm_name, arguments, prefix = TOKEN_MODELS[model]
    torch.manual_seed(0)
    net = build_network(timm_name, 6, **arguments)
    assert net.backbone.num_prefix_tokens == prefix and net.backbone.patch_embed.img_size == (32, 32)  # built for 32 via img_size
    with capture_features(net) as captured, capture_features(net, "backbone.norm") as output:  # the backbone's last layer
        logits = net(torch.rand(2, 3, 32, 32))
    tokens, grid = output["features"], captured["features"]
    assert tokens.shape == (2, prefix + 16, 32) and grid.shape == (2, 32, 4, 4) and logits.shape == (2, 6)
    assert grid.shape[2] * grid.shape[3] == net.backbone.patch_embed.num_patches
    # patch token k (row-major) is grid cell (k // 4, k % 4); the class/register tokens are not in the grid
    assert torch.equal(grid[:, :, 1, 2], tokens[:, prefix + 6]) and torch.equal(grid[:, :, 3, 3], tokens[:, -1])
    assert torch.allclose(logits, net.head(grid.mean(dim=(2, 3))), atol=1e-6)  # GAP over the grid -> linear head
    (gradient,) = torch.autograd.grad(logits[:, 1].sum(), grid)
    assert gradient.shape == grid.shape and gradient.abs().sum() > 0


def test_swin_nhwc_features_become_the_grid():
    torch.manual_seed(0)
    net = build_network("swin_tiny_patch4_window7_224", 6, input_size=56, embed_dim=24, depths=(1, 1), num_heads=(1, 2), window_size=7)
    images = torch.rand(2, 3, 56, 56)
    with capture_features(net) as grid, capture_features(net, "backbone.norm") as nhwc:
        logits = net(images)
    features = grid["features"]
    # 56 px / patch 4 = 14, halved by the second stage: 7x7 patches of 48 channels
    assert nhwc["features"].shape == (2, 7, 7, 48) and features.shape == (2, 48, 7, 7) and logits.shape == (2, 6)
    assert torch.equal(features, nhwc["features"].permute(0, 3, 1, 2))
    (gradient,) = torch.autograd.grad(logits[:, 0].sum(), features, retain_graph=True)
    assert gradient.abs().sum() > 0
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 5]))
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())  # nothing frozen, nothing unused kept


def test_extra_settings_reach_timm_create_model_and_unknown_ones_are_refused():
    net = build_network("vit_tiny_patch16_224", 6, input_size=32, drop_path_rate=0.1, **TINY_VIT)
    assert isinstance(net.backbone.blocks[0].drop_path1, torch.nn.Identity) and net.backbone.blocks[1].drop_path1.drop_prob == pytest.approx(0.1)
    with pytest.raises(UserError, match=r"^timm model 'vit_tiny_patch16_224' does not take model.net.dropout_rate: remove it \(.*drop_path_rate\)\.$"):
        build_network("vit_tiny_patch16_224", 6, input_size=32, dropout_rate=0.1, **TINY_VIT)
    with pytest.raises(UserError, match=r"model.input_size=48 and model.net.img_size=32 disagree: set only model.input_size\.$"):
        build_network("vit_tiny_patch16_224", 6, input_size=48, img_size=32, **TINY_VIT)
