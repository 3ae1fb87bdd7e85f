"""Piecewise-affine warps between face images and the template, batched on any device.

Forward (image -> template), as in Study 1: every template pixel lies in one triangle; its
barycentric coordinates, applied to the same triangle of an image's 89 points (68
landmarks + the extra points), give the image position it is read from. Nearest sampling
is the study's choice; positions outside the image read 0.

Two triangulations:
- ``template`` (default, fast): the template's own Delaunay triangles for every face. Their
  per-pixel weights are precomputed once, so a batch costs one matrix product (template
  pixel weights x image points) and one gather. Where near-coincident points (a closed
  mouth's inner lips, the top-edge points under a head roll) make a triangle fold on a face,
  the few template pixels of that sliver read mirrored positions.
- ``face`` (the study's rule, slow): a Delaunay triangulation of each face's points, the same
  index triples painted on the template in order (a later triangle overwrites an earlier one
  where they overlap); computed per face.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import Delaunay

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, add_extra_points, template_points, template_triangles

_CHUNK = 2048  # template pixels per step of the nearest warp (keeps the work in cache)


def _pixel_grid(height: int, width: int, top: int = 0, left: int = 0) -> np.ndarray:
    """[N, 2] float64 (x, y) centres of the pixels of a ``height`` x ``width`` block whose
    top-left pixel is (``left``, ``top``), row by row."""
    ys, xs = np.mgrid[top : top + height, left : left + width]
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)


def _barycentric(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """[N, 3] barycentric coordinates of ``points`` [N, 2] in triangles ``corners`` [N, 3, 2]."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    u = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / det
    v = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / det
    return np.stack([1 - u - v, u, v], axis=1)


def _signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """[..., T] twice the signed area of each triangle on points [..., N, 2]."""
    a, b, c = points[..., triangles[:, 0], :], points[..., triangles[:, 1], :], points[..., triangles[:, 2], :]
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (c[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1])


def paint_triangles(points: np.ndarray, triangles: np.ndarray, height: int, width: int) -> np.ndarray:
    """[height * width] index of the triangle (on ``points``) each pixel centre lies in
    (edges included), -1 for none; triangles are painted in order, so a later one wins
    where they overlap."""
    index = np.full((height, width), -1, np.int64)
    for t, triangle in enumerate(triangles):
        corners = points[triangle]
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, (width, height))
        if x1 <= x0 or y1 <= y0:
            continue
        box = _pixel_grid(y1 - y0, x1 - x0, y0, x0)
        inside = (_barycentric(box, np.broadcast_to(corners, (len(box), 3, 2))) >= -1e-9).all(axis=1)
        index[box[inside, 1].astype(int), box[inside, 0].astype(int)] = t
    return index.ravel()


def map_through_triangles(from_points: np.ndarray, to_points: np.ndarray, triangles: np.ndarray, height: int, width: int) -> np.ndarray:
    """[height * width, 2]: each pixel of the ``from`` space (triangles painted in order on
    ``from_points``) carried by its triangle's affine map to the ``to`` space. Pixels in no
    triangle go far outside (they read 0)."""
    pixels = _pixel_grid(height, width)
    index = paint_triangles(from_points, triangles, height, width)
    corners = triangles[np.maximum(index, 0)]
    positions = np.einsum("nk,nkd->nd", _barycentric(pixels, from_points[corners]), to_points[corners])
    positions[index < 0] = -10.0
    return positions


def study_positions(source: np.ndarray) -> np.ndarray:
    """[275 * 224, 2] image position read by each template pixel under the study's rule: the
    Delaunay triangulation of the face's 89 ``source`` points, the same triples on the template."""
    return map_through_triangles(template_points(), source, Delaunay(source).simplices, TEMPLATE_HEIGHT, TEMPLATE_WIDTH)


def _to_grid(xy: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pixel positions (x, y), pixel centres at integers -> grid_sample's [-1, 1] (align_corners=True)."""
    scale = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], device=xy.device, dtype=xy.dtype)
    return xy * scale - 1.0


class TemplateWarper:
    """Warps per-image maps into the 224x275 template and template maps back onto faces.

    Args:
        device: where the tables live and the warps run.
        triangulation: ``template`` (fast, batched) or ``face`` (the study's per-face rule).
    """

    def __init__(self, device: torch.device | str = "cpu", triangulation: str = "template") -> None:
        if triangulation not in ("template", "face"):
            raise ValueError(f"Unknown triangulation '{triangulation}': use template or face.")
        self.device = torch.device(device)
        self.triangulation = triangulation
        points, triangles = template_points(), template_triangles()
        pixels = _pixel_grid(TEMPLATE_HEIGHT, TEMPLATE_WIDTH)
        triangulation = Delaunay(points)
        assert np.array_equal(triangulation.simplices, triangles)
        simplex = triangulation.find_simplex(pixels)
        if (simplex < 0).any():
            raise RuntimeError("template triangulation does not cover the template")
        corners = triangles[simplex]
        weights = _barycentric(pixels, points[corners])
        dense = np.zeros((len(pixels), len(points)), np.float32)
        np.put_along_axis(dense, corners, weights.astype(np.float32), axis=1)
        #: [275*224, 89] barycentric weight of every template point for every template pixel
        self.pixel_weights = torch.from_numpy(dense).to(self.device)
        self.triangles = triangles
        self.triangle_signs = np.sign(_signed_areas(points, triangles))

    def folded(self, landmarks: torch.Tensor, width: int, height: int) -> np.ndarray:
        """[B] bool: faces on which some template triangle folds."""
        points = add_extra_points(landmarks.detach().cpu().double().numpy(), width, height)
        return (np.sign(_signed_areas(points, self.triangles)) != self.triangle_signs).any(axis=-1)

    def _plan(self, landmarks: torch.Tensor, width: int, height: int, offset: float) -> Callable[[int], torch.Tensor]:
        """A function giving, for the template pixels ``start``..``start + _CHUNK``, their
        image positions [chunk, 2B] (x of every image, then every y, + ``offset``): a product
        of the precomputed weights with the images' points (``template`` triangulation), or
        slices of each face's positions by the study's rule (``face``)."""
        points = add_extra_points(landmarks.detach().cpu().double().numpy(), width, height)
        if self.triangulation == "template":
            columns = torch.from_numpy(points + offset).to(self.device, torch.float32)
            columns = torch.cat([columns[..., 0].T, columns[..., 1].T], dim=1)  # [89, 2B]
            return lambda start: self.pixel_weights[start : start + _CHUNK] @ columns
        solved: dict[bytes, np.ndarray] = {}  # faces repeated in a batch (several maps of one image) are solved once
        per_face = [solved.setdefault(face.tobytes(), study_positions(face) + offset) for face in points]
        positions = torch.from_numpy(np.concatenate([np.stack([p[:, 0] for p in per_face], 1), np.stack([p[:, 1] for p in per_face], 1)], 1))
        positions = positions.to(self.device, torch.float32)
        return lambda start: positions[start : start + _CHUNK].clone()

    def source_positions(self, landmarks: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """[B, 68, 2] landmarks of ``width`` x ``height`` images -> [B, 275, 224, 2] image
        positions (x, y) that each template pixel reads."""
        chunk = self._plan(landmarks, width, height, offset=0.0)
        positions = torch.cat([chunk(start) for start in range(0, self.pixel_weights.shape[0], _CHUNK)])
        batch = landmarks.shape[0]
        return torch.stack([positions[:, :batch].T, positions[:, batch:].T], dim=-1).reshape(batch, TEMPLATE_HEIGHT, TEMPLATE_WIDTH, 2)

    def _nearest(self, maps: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Nearest sampling as flat gathers over cache-sized chunks of template pixels: the
        maps get a zero border and positions are shifted into it, so whatever falls outside
        the image reads 0 after clamping. Rounds half to even, like
        ``grid_sample(mode="nearest")``."""
        batch, height, width = maps.shape
        chunk = self._plan(landmarks, width, height, offset=1.0)
        padded = F.pad(maps, (1, 1, 1, 1)).reshape(batch, -1).T.contiguous()  # [(H+2)(W+2), B]
        row_length = torch.tensor(float(width + 2), device=self.device)
        out = torch.empty(self.pixel_weights.shape[0], batch, device=self.device)
        for start in range(0, self.pixel_weights.shape[0], _CHUNK):
            positions = chunk(start).round_()
            x = positions[:, :batch].clamp_(0, width + 1)
            y = positions[:, batch:].clamp_(0, height + 1)
            torch.gather(padded, 0, torch.addcmul(x, y, row_length).long(), out=out[start : start + _CHUNK])
        return out.T.reshape(batch, TEMPLATE_HEIGHT, TEMPLATE_WIDTH)

    def to_template(self, maps: torch.Tensor, landmarks: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
        """Warp maps [B, H, W] with their landmarks [B, 68, 2] (image pixels) into the template:
        [B, 275, 224]. ``mode``: ``nearest`` (the study) or ``bilinear``. A sample with
        missing (NaN) landmarks gives an all-zero map."""
        if maps.ndim != 3 or landmarks.shape != (maps.shape[0], 68, 2):
            raise ValueError(f"expected maps [B, H, W] and landmarks [B, 68, 2], got {tuple(maps.shape)} and {tuple(landmarks.shape)}")
        height, width = maps.shape[-2:]
        missing = ~torch.isfinite(landmarks).all(dim=2).all(dim=1)
        landmarks = torch.nan_to_num(landmarks, nan=0.0)
        maps = maps.to(self.device, torch.float32)
        if mode == "nearest":
            warped = self._nearest(maps, landmarks)
        else:
            grid = _to_grid(self.source_positions(landmarks, width, height), width, height)
            warped = F.grid_sample(maps[:, None], grid, mode=mode, padding_mode="zeros", align_corners=True)[:, 0]
        return warped * (~missing).to(self.device, torch.float32)[:, None, None]

    def to_image(self, template_maps: torch.Tensor, landmarks: torch.Tensor, height: int, width: int, mode: str = "bilinear") -> torch.Tensor:
        """The inverse: template maps [B, 275, 224] (or one [275, 224] for all) drawn onto
        faces with landmarks [B, 68, 2]: [B, height, width]. Pixels outside the face's
        89-point hull (none, since the corners are included) or in no triangle are 0. Uses
        the face's own Delaunay triangulation (the study's rule)."""
        batch = landmarks.shape[0]
        if template_maps.ndim == 2:
            template_maps = template_maps.expand(batch, -1, -1)
        sources = add_extra_points(landmarks.detach().cpu().double().numpy(), width, height)
        template = template_points()
        grids = [map_through_triangles(points, template, Delaunay(points).simplices, height, width).reshape(height, width, 2) for points in sources]
        grid = _to_grid(torch.from_numpy(np.stack(grids)).to(self.device, torch.float32), TEMPLATE_WIDTH, TEMPLATE_HEIGHT)
        return F.grid_sample(template_maps[:, None].to(self.device, torch.float32), grid, mode=mode, padding_mode="zeros", align_corners=True)[:, 0]
