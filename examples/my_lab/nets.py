"""Two networks of a user's own, as ferlens' examples train and explain them: plain PyTorch,
nothing imported from ferlens. Each maps normalized RGB images [B, 3, S, S] to logits
[B, num_classes]."""

from __future__ import annotations

import torch
from torch import nn


class TinyCNN(nn.Module):
    """Three convolution stages (``stage1``..``stage3``, the last a [B, width, S/8, S/8] grid),
    global average pooling, a linear head."""

    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()

        def stage(inputs: int, outputs: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1), nn.BatchNorm2d(outputs), nn.ReLU(), nn.MaxPool2d(2))

        self.stage1, self.stage2, self.stage3 = stage(3, width), stage(width, width), stage(width, width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.stage3(self.stage2(self.stage1(images)))
        return self.head(grid.mean(dim=(2, 3)))


class TinyViT(nn.Module):
    """A ViT-like network: 8x8-pixel patches as tokens after a class token, two transformer
    blocks (``blocks.0``, ``blocks.1``: tokens [B, 1 + patches, dim]), the class token's head.
    Its input is declared as timm does (``pretrained_cfg``)."""

    pretrained_cfg = {"input_size": (3, 32, 32), "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}

    def __init__(self, num_classes: int, dim: int = 32, patch: int = 8, image_size: int = 32) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.randn(1, 1 + (image_size // patch) ** 2, dim) * 0.02)
        self.blocks = nn.Sequential(*(nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True) for _ in range(2)))
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.patches(images).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(len(tokens), -1, -1), tokens], dim=1) + self.position
        return self.head(self.blocks(tokens)[:, 0])
