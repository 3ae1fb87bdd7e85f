"""Study 2's AU-alignment loss: its value, its gradients, its off switch, any layer, ViTs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.au import au_heatmap
from ferlens.lightning_modules.au_guidance import AUGuidance, alignment_loss, au_targets, layer_attention
from ferlens.lightning_modules.fer_module import FERModule
from ferlens.networks.registry import build_network
from ferlens.user_errors import UserError

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def test_loss_on_a_hand_computed_two_sample_batch_with_one_invalid_sample():
    attention = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[5.0, 5.0], [5.0, 5.0]]], requires_grad=True)
    au_maps = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    valid = torch.tensor([True, False])
    loss = alignment_loss(attention, au_maps, valid)
    # sample 0: A = (1, 0, 0, 1), H = (1, 0, 0, 0): cos = 1 / sqrt(2); sample 1 is left out
    assert loss.item() == pytest.approx(1 - 1 / math.sqrt(2), abs=1e-6)
    loss.backward()
    assert attention.grad[1].abs().sum() == 0 and attention.grad[0].abs().sum() > 0
    none = alignment_loss(attention, au_maps, torch.tensor([False, False]))
    assert none.item() == 0.0 and none.requires_grad


def test_au_targets_are_antialiased_to_the_layer_grid_and_clamped_to_the_maps_range():
    au_map = torch.zeros(1, 8, 8)
    au_map[0, :4, :4] = 1.0
    target = au_targets(au_map, (2, 2))
    expected = F.interpolate(au_map[:, None], size=(2, 2), mode="bilinear", align_corners=False, antialias=True)[:, 0].clamp(0, 1)
    assert torch.allclose(target, expected) and target[0, 0, 0] > 0.7 > target[0, 1, 1]
    assert target.min() >= 0 and target.max() <= 1


def test_gradients_reach_the_chosen_layer_and_nothing_after_it():
    torch.manual_seed(0)
    net = build_network("smallcnn", 6, input_size=64)
    face = SyntheticFaces(2, 2, 64, seed=1)
    images = torch.stack([torch.from_numpy(face[i].image).permute(2, 0, 1).float() / 255 for i in range(2)])
    au_maps = torch.stack([torch.from_numpy(au_heatmap("Happiness", face[i].landmarks, 64, 64)[0]) for i in range(2)])
    guidance = AUGuidance(weight=1.0, layers=["features.conv2"])
    with guidance.capture(net) as captured:
        net(images)
    assert list(captured) == ["features.conv2"]
    guidance.loss(net, captured, au_maps, torch.tensor([True, True]), (64, 64)).backward()
    assert net.get_submodule("features.conv2").weight.grad.abs().sum() > 0
    assert net.get_submodule("features.conv1").weight.grad.abs().sum() > 0  # before it: reached through it
    assert all(p.grad is None for name, p in net.named_parameters() if name.startswith(("features.conv3", "head", "classifier")))


def _batch(size: int = 64, count: int = 4) -> dict:
    faces = SyntheticFaces(count, 1, size, seed=2)  # one subject: classes 0, 1, 2, ...
    images = torch.stack([torch.from_numpy(faces[i].image).permute(2, 0, 1).float() / 255 for i in range(count)])
    labels = torch.tensor([int(faces[i].label) for i in range(count)])
    maps = [au_heatmap(CLASSES[int(faces[i].label)], faces[i].landmarks, size, size) for i in range(count)]
    return {
        "image": images,
        "label": labels,
        "au_map": torch.stack([torch.from_numpy(m) for m, _ in maps]),
        "au_valid": torch.tensor([v for _, v in maps]),
    }


def test_weight_zero_is_bit_for_bit_plain_cross_entropy():
    batch = _batch()
    torch.manual_seed(0)
    plain = FERModule({"name": "smallcnn"}, 6, CLASSES, input_size=64)
    off = FERModule({"name": "smallcnn"}, 6, CLASSES, input_size=64, au_guidance={"weight": 0.0, "layers": ["features.conv2"]})
    guided = FERModule({"name": "smallcnn"}, 6, CLASSES, input_size=64, au_guidance={"weight": 9.0})
    for module in (off, guided):
        module.load_state_dict(plain.state_dict())
    losses = {}
    for name, module in (("plain", plain), ("off", off), ("guided", guided)):
        module.log = lambda *args, **kwargs: None
        torch.manual_seed(1)  # the same dropout draw in each training step
        losses[name] = module.training_step(batch, 0)
        losses[name].backward()
    assert torch.equal(losses["off"], losses["plain"])
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(plain.parameters(), off.parameters(), strict=True))
    assert losses["guided"] > losses["plain"]  # the alignment term adds a positive amount
    off.eval()
    assert torch.equal(off.training_step(batch, 0), F.cross_entropy(off(batch["image"]), batch["label"]))


def test_warmup_ramps_the_weight_and_bad_settings_are_one_sentence():
    guidance = AUGuidance(weight=9.0, warmup_epochs=2)
    assert [guidance.weight_at(e) for e in range(4)] == pytest.approx([3.0, 6.0, 9.0, 9.0])
    assert AUGuidance(weight=9.0).weight_at(0) == 9.0 and not AUGuidance().enabled
    with pytest.raises(UserError, match="weight >= 0"):
        AUGuidance(weight=-1.0)
    with pytest.raises(UserError, match="names no module of the network: nope"):
        FERModule({"name": "smallcnn"}, 6, CLASSES, input_size=64, au_guidance={"weight": 1.0, "layers": ["nope"]})


def test_a_tiny_timm_vit_trains_guided_on_its_patch_grid_and_on_a_token_layer():
    torch.manual_seed(0)
    net = {"name": "vit_tiny_patch16_224", "pretrained": False, "patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2}
    batch = _batch(size=32, count=6)
    for layers in (None, ["backbone.blocks.0"]):  # the CAM layer (grid), then a block's tokens [B, 1 + 16, 32]
        module = FERModule(dict(net), 6, CLASSES, input_size=32, au_guidance={"weight": 9.0, "layers": layers})
        module.log = lambda *args, **kwargs: None
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        with module.au_guidance.capture(module.net) as captured:
            module(batch["image"])
        attention = layer_attention(next(iter(captured.values())), module.net, (32, 32))
        assert attention.shape == (6, 4, 4)
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = module.training_step(batch, 0)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], (layers, losses)
