"""Every explainer with a reference implementation against it, in the same run on the same
batch: pytorch-grad-cam 1.5.7 for the CAMs, captum 0.9 for the gradient and Shapley methods
(the settings and seeds of tests/saliency/test_gradient_reference.py). Per method and image
side: our time, the reference's, their ratio (goal <= 1.0) and the largest difference of the
maps relative to each map's max (CAMs: the raw maps on the cam_layer, pytorch-grad-cam's
min-max scaling switched off, as in the tests; FullGrad: its final scaling switched off).
Methods without a reference (rise, extremal, attention_rollout, chefer) are timed alone.

    python benchmarks/bench_explainers.py [--network smallcnn] [--sides 64 224] [--images 4] [--repeats 2] [--methods gradcam ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytorch_grad_cam
import pytorch_grad_cam.base_cam
import pytorch_grad_cam.eigen_cam
import pytorch_grad_cam.eigen_grad_cam
import pytorch_grad_cam.fullgrad_cam
import torch
import torch.nn.functional as F
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lime import seconds  # noqa: E402  (best of repeated timings)

from ferlens.networks.registry import build_network  # noqa: E402
from ferlens.saliency import build_explainer  # noqa: E402
from tests.saliency.test_cam_reference import COSTLY, REFERENCES  # noqa: E402  (the CAMs' references)
from tests.saliency.test_gradient_reference import PARAMS, captum_maps  # noqa: E402  (the reference settings)

CAMS = {**REFERENCES, **COSTLY, "fullgrad": pytorch_grad_cam.FullGrad}  # the reference tests' own pairs
#: Timed alone: no reference implementation. Small settings, as the tests'.
ALONE = {"rise": {"masks": 256}, "extremal": {"steps": 20}, "attention_rollout": {}, "chefer": {}}
BATCH = 64  # ScoreCAM's and AblationCAM's images per forward pass, both sides


def pytorch_grad_cam_maps(method: str, model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, raw: bool) -> torch.Tensor:
    """pytorch-grad-cam's maps; ``raw``: its min-max scaling replaced by the identity (the maps
    on the cam_layer; FullGrad's in pixels) and Eigen-CAM's sign corrected, as in the tests."""
    saved = pytorch_grad_cam.base_cam.scale_cam_image, pytorch_grad_cam.fullgrad_cam.scale_cam_image
    saved_projections = pytorch_grad_cam.eigen_cam.get_2d_projection, pytorch_grad_cam.eigen_grad_cam.get_2d_projection
    if raw:
        pytorch_grad_cam.base_cam.scale_cam_image = pytorch_grad_cam.fullgrad_cam.scale_cam_image = lambda cam, target_size=None: np.float32(cam)
        pytorch_grad_cam.eigen_cam.get_2d_projection = pytorch_grad_cam.eigen_grad_cam.get_2d_projection = get_2d_projection_with_sign_correction
    try:
        np.random.seed(0)
        layers = [] if method == "fullgrad" else [model.get_submodule(model.cam_layer)]
        with CAMS[method](model, layers) as cam:
            if hasattr(cam, "batch_size"):
                cam.batch_size = BATCH
            maps = cam(images, [ClassifierOutputTarget(int(t)) for t in targets])
    finally:
        pytorch_grad_cam.base_cam.scale_cam_image, pytorch_grad_cam.fullgrad_cam.scale_cam_image = saved
        pytorch_grad_cam.eigen_cam.get_2d_projection, pytorch_grad_cam.eigen_grad_cam.get_2d_projection = saved_projections
    model.zero_grad(set_to_none=True)
    return torch.from_numpy(maps)


def relative_difference(maps: torch.Tensor, reference: torch.Tensor) -> float:
    return float(((maps - reference).abs().amax(dim=(1, 2)) / reference.abs().amax(dim=(1, 2)).clamp(min=1e-12)).max())


def cam_row(method: str, model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, repeats: int) -> tuple[float, float, float]:
    params = {"batch_size": BATCH} if method in ("scorecam", "ablationcam") else {}
    explainer = build_explainer(method, **params)
    ours_time = seconds(lambda: explainer(model, images, targets), repeats)
    theirs_time = seconds(lambda: pytorch_grad_cam_maps(method, model, images, targets, raw=False), repeats)
    reference = pytorch_grad_cam_maps(method, model, images, targets, raw=True)
    if method == "fullgrad":
        ours = explainer(model, images, targets)
    else:
        with torch.enable_grad():
            ours = explainer.layer_maps(model, images, targets).detach()
    return ours_time, theirs_time, relative_difference(ours, reference)


def captum_row(key: str, model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, repeats: int) -> tuple[float, float, float]:
    name, params = PARAMS[key]
    if name == "gradientshap":  # the whole batch in one captum call, as the reference (chunks draw differently)
        params = params | {"batch_size": len(images) * params["samples"]}
    explainer = build_explainer(name, **params)
    ours_time = seconds(lambda: explainer(model, images, targets), repeats)
    theirs_time = seconds(lambda: captum_maps(key, model, images, targets), repeats)
    return ours_time, theirs_time, relative_difference(explainer(model, images, targets), captum_maps(key, model, images, targets).detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="smallcnn")
    parser.add_argument("--vit", default="test_vit", help="the network of the transformer methods")
    parser.add_argument("--sides", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", nargs="+", help="only these (default: all)")
    args = parser.parse_args()
    print(f"{args.network}, {args.images} images, best of {args.repeats}; ratio = ours / reference time; difference: max |ours - reference| / max reference")
    print(f"{'method':<20} {'side':>5} {'ours s':>9} {'ref s':>9} {'ratio':>6} {'difference':>11}")
    for side in args.sides:
        torch.manual_seed(0)
        model = build_network(args.network, 6, input_size=side).eval()
        for module in model.modules():  # captum's hooks refuse in-place activations; ours switch them off itself
            if getattr(module, "inplace", False):
                module.inplace = False
        images = F.interpolate(torch.rand(args.images, 3, 8, 8), size=(side, side), mode="bilinear", align_corners=False)
        targets = torch.arange(args.images) % 6
        for method in [m for m in [*CAMS, *PARAMS] if not args.methods or m in args.methods]:
            row = cam_row if method in CAMS else captum_row
            ours, theirs, difference = row(method, model, images, targets, args.repeats)
            print(f"{method:<20} {side:>5} {ours:>9.3f} {theirs:>9.3f} {ours / theirs:>6.2f} {difference:>11.1e}", flush=True)
        vit = build_network(args.vit, 6, input_size=side).eval()
        for method, params in [(m, p) for m, p in ALONE.items() if not args.methods or m in args.methods]:
            network = vit if method in ("attention_rollout", "chefer") else model
            explainer = build_explainer(method, **params)
            elapsed = seconds(lambda explainer=explainer, network=network, images=images, targets=targets: explainer(network, images, targets), args.repeats)
            print(f"{method:<20} {side:>5} {elapsed:>9.3f} {'-':>9} {'-':>6} {'no reference':>11}", flush=True)


if __name__ == "__main__":
    main()
