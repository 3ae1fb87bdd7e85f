"""Known truth for the sanity checks (``evaluation.randomisation.mprt``, ``evaluation.faithfulness.curves``) on a
smallcnn trained here on the synthetic faces (one file, so that the network is trained once):
the CAMs decorrelate under full randomisation, a model-independent edge map is flagged, and
Grad-CAM++ is more faithful than random maps."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.evaluation.faithfulness.curves import deletion_insertion, road
from ferlens.evaluation.randomisation.mprt import FAILURE_THRESHOLD, fails_randomisation_check, model_parameter_randomisation
from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.saliency.base import Explainer

pytestmark = pytest.mark.slow

TRAIN_IMAGES, HELD_OUT_IMAGES, SIDE, EPOCHS, BATCH = 900, 120, 64, 10, 32


@pytest.fixture(scope="module")
def trained_smallcnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(smallcnn trained on 900 synthetic 64-px faces of 30 subjects, eval mode; 120 further
    faces of the same subjects it never saw, raw [120, 3, 64, 64] in [0, 1]; their labels [120]).
    Adam 1e-3 with cosine decay, batch 32, 10 epochs (measured: 0.975 accuracy on the 120)."""
    faces = SyntheticFaces(TRAIN_IMAGES + HELD_OUT_IMAGES, 30, SIDE, seed=0)
    samples = [faces[i] for i in range(len(faces))]
    images = torch.stack([torch.from_numpy(sample.image).permute(2, 0, 1).float() / 255 for sample in samples])
    labels = torch.tensor([sample.label for sample in samples])
    torch.manual_seed(0)
    net = build_network("smallcnn", 6, input_size=SIDE)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS * math.ceil(TRAIN_IMAGES / BATCH))
    net.train()
    for _ in range(EPOCHS):
        order = torch.randperm(TRAIN_IMAGES)
        for start in range(0, TRAIN_IMAGES, BATCH):
            batch = order[start : start + BATCH]
            optimizer.zero_grad()
            F.cross_entropy(net(images[batch]), labels[batch]).backward()
            optimizer.step()
            schedule.step()
    net.eval()
    held_out, held_out_labels = images[TRAIN_IMAGES:], labels[TRAIN_IMAGES:]
    with torch.no_grad():
        accuracy = (net(held_out).argmax(dim=1) == held_out_labels).float().mean().item()
    assert accuracy >= 0.9, f"the known-truth network did not train: held-out accuracy {accuracy:.3f}"
    return net, held_out, held_out_labels


class SobelEdges(Explainer):
    """A model-independent "explainer": the Sobel gradient magnitude of the image's grey level."""

    name = "sobel"

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        grey = images.mean(dim=1, keepdim=True)
        kernel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        horizontal = F.conv2d(grey, kernel.view(1, 1, 3, 3), padding=1)
        vertical = F.conv2d(grey, kernel.T.contiguous().view(1, 1, 3, 3), padding=1)
        return torch.sqrt(horizontal**2 + vertical**2)[:, 0]


def test_trained_cams_decorrelate_under_full_randomisation_and_an_edge_map_is_flagged(trained_smallcnn):
    net, images, labels = trained_smallcnn
    images, labels = images[:24], labels[:24]
    full = {}
    for method in ("gradcam", "gradcampp"):
        # 8 draws: one randomised network's map is mostly one spatial pattern, whose overlap with the
        # trained maps varies from draw to draw (Grad-CAM++: 0.05 to 0.54 over these 8)
        scores = model_parameter_randomisation(net, build_explainer(method), images, labels, seed=0, draws=8)
        full[method] = float(scores.spearman["cascading"][-1].nanmean())
    # measured: Grad-CAM 0.03, Grad-CAM++ 0.33 (0.98 with only the head randomised: Grad-CAM++ hardly depends on it)
    assert full["gradcam"] < 0.3, full
    assert full["gradcampp"] < FAILURE_THRESHOLD and not fails_randomisation_check(full["gradcampp"]), full
    edges = model_parameter_randomisation(net, SobelEdges(), images, labels, draws=1)
    torch.testing.assert_close(edges.spearman["cascading"], torch.ones(9, 24, dtype=torch.float64))  # the same map whatever the weights
    assert fails_randomisation_check(edges.spearman["cascading"][-1])


def cam_grid_noise(count: int, grid: int, side: int, seed: int) -> torch.Tensor:
    """Uniform noise on the CAM grid, upsampled to the image as the CAMs are: a random map of the CAMs' smoothness."""
    noise = torch.rand(count, 1, grid, grid, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(noise, size=(side, side), mode="bilinear", align_corners=False)[:, 0]


def test_trained_grad_cam_plus_plus_is_more_faithful_than_random_maps(trained_smallcnn):
    net, images, labels = trained_smallcnn
    images, labels = images[:36], labels[:36]
    maps = build_explainer("gradcampp")(net, images, labels)
    random_maps = {
        "CAM-grid noise": cam_grid_noise(36, 8, SIDE, seed=0),
        "pixel noise": torch.rand(maps.shape, generator=torch.Generator().manual_seed(0)),
    }
    ours = deletion_insertion(net, images, maps, labels), road(net, images, maps, labels)
    control = {name: (deletion_insertion(net, images, m, labels), road(net, images, m, labels)) for name, m in random_maps.items()}
    smooth = control["CAM-grid noise"]
    # measured: deletion AUC 0.21 vs 0.45, insertion 0.70 vs 0.43, ROAD combined 0.24 vs -0.03 and 0.01 (pixel noise)
    assert ours[0].deletion_auc.mean() < smooth[0].deletion_auc.mean() - 0.1
    assert ours[0].insertion_auc.mean() > smooth[0].insertion_auc.mean() + 0.1
    for _, road_scores in control.values():
        assert ours[1].combined.mean() > road_scores.combined.mean() + 0.1
