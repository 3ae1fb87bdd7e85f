import numpy as np
import pytest
import torch
from scipy.spatial import Delaunay

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.template import add_extra_points, template_points, template_triangles
from ferlens.faces.warp import TemplateWarper


@pytest.fixture(scope="module")
def warper():
    return TemplateWarper()


def test_template_warped_onto_itself_is_the_identity(warper):
    maps = torch.rand(3, 275, 224, generator=torch.Generator().manual_seed(0))
    landmarks = torch.from_numpy(template_points()[:68]).float().expand(3, 68, 2)
    assert (warper.to_template(maps, landmarks) == maps).float().mean() >= 0.99


def test_landmark_dots_of_synthetic_faces_land_on_the_template_points(warper):
    """Each landmark's dot lands within 1.5 px of its template point. A closed mouth puts
    inner-lip points on (or within a few pixels of) each other, where no triangulation can
    keep them apart; points within 3 px of another landmark are left out, and they must
    all be mouth points."""
    size = 224
    faces = SyntheticFaces(12, 4, size, seed=3)
    template = template_points()[:68]
    ys, xs = np.mgrid[0:size, 0:size]
    coincident = 0
    for index in range(12):
        landmarks = faces[index].landmarks
        distances = np.linalg.norm(landmarks[:, None] - landmarks[None], axis=2) + np.eye(68) * 1e9
        separate = np.flatnonzero(distances.min(axis=1) > 3.0)
        assert set(range(68)) - set(separate.tolist()) <= set(range(48, 68))
        coincident += 68 - len(separate)
        dots = np.stack([np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 0.7**2)) for x, y in landmarks[separate]]).astype(np.float32)
        repeated = torch.from_numpy(landmarks)[None].expand(len(separate), 68, 2).contiguous()
        warped = warper.to_template(torch.from_numpy(dots), repeated, mode="bilinear")
        for dot, point in zip(warped, separate, strict=True):
            row, col = np.unravel_index(int(dot.argmax()), dot.shape)  # where the dot landed
            assert np.linalg.norm(np.array([col, row]) - template[point]) <= 1.5, (index, point)
    assert coincident <= 12 * 10


def _reference_nearest(saliency: np.ndarray, landmarks: np.ndarray, triangulation: str) -> np.ndarray:
    """The warp written out plainly: the template's triangles or the face's own Delaunay
    triangles, in order (a later one wins); for every template pixel inside a triangle
    (barycentric test), the same barycentric point of the face's triangle, read at the
    nearest pixel (half to even), 0 outside the image."""
    height, width = saliency.shape
    source, target = add_extra_points(landmarks, width, height), template_points()
    triangles = template_triangles() if triangulation == "template" else Delaunay(source).simplices
    rows, cols = np.mgrid[0:275, 0:224]
    out = np.zeros((275, 224))
    for t in triangles:
        a, b, c = target[t]
        matrix = np.array([[b[0] - a[0], c[0] - a[0]], [b[1] - a[1], c[1] - a[1]]])
        if abs(np.linalg.det(matrix)) < 1e-9:  # a flat triangle covers no pixel
            continue
        u, v = np.linalg.solve(matrix, np.stack([cols.ravel() - a[0], rows.ravel() - a[1]]))
        inside = (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)
        x = (1 - u - v) * source[t[0], 0] + u * source[t[1], 0] + v * source[t[2], 0]
        y = (1 - u - v) * source[t[0], 1] + u * source[t[1], 1] + v * source[t[2], 1]
        sx, sy = np.rint(x).astype(int), np.rint(y).astype(int)
        valid = (sx >= 0) & (sx < width) & (sy >= 0) & (sy < height)
        values = np.where(valid, saliency[sy.clip(0, height - 1), sx.clip(0, width - 1)], 0.0)
        out.ravel()[inside] = values[inside]
    return out


@pytest.mark.parametrize("triangulation", ["template", "face"])
def test_nearest_mode_equals_a_plain_implementation(triangulation):
    warper = TemplateWarper(triangulation=triangulation)
    rng = np.random.default_rng(9)
    faces = SyntheticFaces(6, 6, 120, seed=9)
    landmarks = np.stack([faces[i].landmarks for i in range(6)]).astype(np.float64)
    saliency = rng.random((6, 120, 120)).astype(np.float32)
    ours = warper.to_template(torch.from_numpy(saliency), torch.from_numpy(landmarks).float()).numpy()
    for index in range(6):
        reference = _reference_nearest(saliency[index], landmarks[index], triangulation)
        assert (np.abs(ours[index] - reference) < 1e-6).mean() >= 0.999  # float rounding at exact .5 ties


def test_bilinear_mode_missing_landmarks_and_shapes(warper):
    faces = SyntheticFaces(2, 2, 96)
    maps = torch.ones(2, 96, 96)
    landmarks = torch.from_numpy(np.stack([faces[0].landmarks, faces[1].landmarks]))
    landmarks[1] = float("nan")
    out = warper.to_template(maps, landmarks, mode="bilinear")
    assert out.shape == (2, 275, 224) and out[1].abs().max() == 0 and out[0].max().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected maps"):
        warper.to_template(maps[0], landmarks)


def test_inverse_draws_template_masks_on_the_face(warper):
    from ferlens.faces.ekman_masks import ekman_mask

    faces = SyntheticFaces(1, 1, 128, seed=4)
    landmarks = torch.from_numpy(faces[0].landmarks)[None]
    mask = torch.from_numpy(ekman_mask("Surprise").astype(np.float32))
    on_face = warper.to_image(mask, landmarks, 128, 128, mode="nearest")[0]
    assert on_face.shape == (128, 128)
    mouth = faces[0].landmarks[48:60].mean(axis=0).round().astype(int)
    between_eyes = faces[0].landmarks[27].round().astype(int)
    assert on_face[mouth[1], mouth[0]] == 1 and on_face[between_eyes[1], between_eyes[0]] == 0
    back = warper.to_template(on_face[None], landmarks)[0]  # round trip: template -> face -> template
    inside = torch.from_numpy(ekman_mask("Surprise"))
    assert back[inside].mean() > 0.95 and back[~inside].mean() < 0.05
