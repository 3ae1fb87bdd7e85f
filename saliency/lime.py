"""LIME with Study 1's settings, batched: SLIC superpixels of the raw image; 1000 binary
perturbations (the first with every superpixel on) hiding superpixels in black (raw 0,
whatever the network's normalization, which the network applies itself); cosine distance to the
all-on vector with kernel sqrt(exp(-d^2 / 0.25^2)); a weighted ridge (alpha 1, intercept)
on the target-class probability, solved in closed form for all images at once; positive
weights painted on their superpixels (no per-image normalisation)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from skimage.segmentation import slic
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer


def superpixels(images: np.ndarray, n_segments: int = 30, compactness: float = 20.0) -> np.ndarray:
    """[B, H, W] int SLIC labels (0..S-1, Lab colour space) of RGB images [B, H, W, 3] in [0, 1]."""
    return np.stack([slic(image, n_segments=n_segments, compactness=compactness, start_label=0, convert2lab=True) for image in images])


def lime_weights(features: torch.Tensor, targets: torch.Tensor, kernel_width: float = 0.25, alpha: float = 1.0) -> torch.Tensor:
    """Weighted ridge of LIME for a batch: ``features`` [B, N, S] binary samples (padding
    columns all 0 get weight 0), ``targets`` [B, N] model probabilities -> [B, S] weights.
    Sample weights: sqrt(exp(-d^2 / width^2)), d = cosine distance to the all-on sample;
    the intercept is fitted and not penalised (as scikit-learn's Ridge)."""
    x = features.double()
    on = x.sum(dim=2)
    segments = (x.amax(dim=1) > 0).double().sum(dim=1, keepdim=True)  # [B, 1] real superpixels (sample 0 has them all on)
    distance = 1.0 - on / (on.sqrt() * segments.sqrt()).clamp(min=1e-12)  # an all-off sample: distance 1
    weights = torch.sqrt(torch.exp(-(distance**2) / kernel_width**2))  # [B, N]
    total = weights.sum(dim=1, keepdim=True)
    x_mean = (weights[..., None] * x).sum(dim=1, keepdim=True) / total[..., None]
    y = targets.double()
    y_mean = (weights * y).sum(dim=1, keepdim=True) / total
    xc, yc = x - x_mean, y - y_mean
    weighted = xc * weights[..., None]
    gram = weighted.transpose(1, 2) @ xc + alpha * torch.eye(x.shape[2], dtype=x.dtype, device=x.device)
    rhs = weighted.transpose(1, 2) @ yc[..., None]
    return torch.linalg.solve(gram, rhs)[..., 0]


@register_explainer("lime")
class Lime(Explainer):
    """Batched LIME (see the module docstring).

    Args:
        num_samples: perturbations per image (the first keeps every superpixel).
        n_segments, compactness: SLIC parameters.
        kernel_width: LIME's kernel width on the cosine distance.
        alpha: ridge penalty.
        batch_size: perturbed images per forward pass.
        seed: seed of the perturbations (the run's seed, for reproducible maps).
    """

    def __init__(
        self,
        num_samples: int = 1000,
        n_segments: int = 30,
        compactness: float = 20.0,
        kernel_width: float = 0.25,
        alpha: float = 1.0,
        batch_size: int = 250,
        seed: int = 0,
    ) -> None:
        self.num_samples = num_samples
        self.n_segments = n_segments
        self.compactness = compactness
        self.kernel_width = kernel_width
        self.alpha = alpha
        self.batch_size = batch_size
        self.seed = seed

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        segments = superpixels(images.permute(0, 2, 3, 1).cpu().numpy(), self.n_segments, self.compactness)
        return self.explain_with_segments(model, images, targets, torch.from_numpy(segments).to(images.device))

    def _samples(self, image: torch.Tensor, width: int) -> torch.Tensor:
        """[num_samples, width] binary perturbations of an image with ``width`` superpixels,
        drawn from the seed and the image's bytes, so an image gets the same samples whatever
        batch (or DDP rank) it is explained in."""
        digest = hashlib.sha256(image.detach().cpu().numpy().tobytes()).digest()
        generator = torch.Generator(device="cpu").manual_seed(self.seed ^ int.from_bytes(digest[:7], "little"))
        drawn = torch.randint(0, 2, (self.num_samples, width), generator=generator)
        drawn[0] = 1  # the first sample keeps every superpixel
        return drawn

    def explain_with_segments(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        """LIME maps [B, H, W] in image pixels for raw images [B, 3, H, W] in [0, 1] and given
        superpixels ``segments`` [B, H, W] (labels 0..S-1); hidden superpixels are set to 0."""
        batch = images.shape[0]
        counts = segments.flatten(1).amax(dim=1) + 1
        width = int(counts.max())
        samples = torch.zeros(batch, self.num_samples, width, dtype=torch.long)
        for b, image in enumerate(images):  # padding columns (superpixels another image has) stay 0
            samples[b, :, : int(counts[b])] = self._samples(image, int(counts[b]))
        samples = samples.to(images.device)
        probabilities = torch.empty(batch, self.num_samples, device=images.device)
        with torch.no_grad():
            for b in range(batch):
                for start in range(0, self.num_samples, self.batch_size):
                    keep = samples[b, start : start + self.batch_size][:, segments[b]]  # [n, H, W]
                    perturbed = torch.where(keep[:, None].bool(), images[b], 0.0)
                    logits = model(perturbed)
                    probabilities[b, start : start + len(keep)] = logits.softmax(dim=1)[:, targets[b]]
        coefficients = lime_weights(samples.float(), probabilities, self.kernel_width, self.alpha).float()  # [B, S]
        return coefficients.gather(1, segments.flatten(1)).view(segments.shape).clamp(min=0)
