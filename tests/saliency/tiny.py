"""A tiny CNN for fast explainer tests."""

import torch
from torch import nn


class TinyCNN(nn.Module):
    """conv-relu-conv-relu -> GAP -> linear; ``cam_layer`` = the second ReLU."""

    cam_layer = "features.3"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
