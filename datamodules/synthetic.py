"""Embedded synthetic FER dataset: procedural faces whose expressions are FACS AU prototypes.

Image ``i`` belongs to subject ``i % num_subjects`` and shows class
``(i // num_subjects) % num_classes``; identity (face shape, skin, hair) is drawn from the
seed and the subject, everything else (AU intensities, pose, light, clutter, noise) from
the seed and ``i``. Rendering is deterministic and works at any image size; each image
comes with its exact 68 landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ferlens.datamodules.face_drawing import Look, Part, Placement, draw_face
from ferlens.datamodules.face_shape import MEAN_SHAPE
from ferlens.datamodules.sources import DataError, FaceSample
from ferlens.datamodules.synthetic_aus import PROTOTYPE_SETS, displace
from ferlens.formats.expressions import CLASSES_6, CLASSES_7

_SUPERSAMPLE = 2
_REGION_THRESHOLD = 12.0  # summed |RGB| difference (0-255) that counts as "changed"


@dataclass(frozen=True)
class _Scene:
    """Everything random about one image, apart from the identity."""

    aus: dict[int, float]
    angle_deg: float
    scale: float  # face width / image size
    shift: tuple[float, float]  # fraction of the image size
    background: tuple[float, float, float]
    clutter_seed: int
    light_direction: float  # radians
    light_strength: float
    brightness: float
    noise_sigma: float  # 0-255 units
    noise_seed: int


class SyntheticFaces:
    """Map-style source of synthetic faces (see the module docstring for the indexing).

    Args:
        num_images: number of images.
        num_subjects: number of identities (subject ids ``"s000"``...).
        image_size: side of the square images, pixels.
        neutral: add a 7th class, Neutral (no AUs).
        seed: everything is a deterministic function of it.
        intensity_range: AU intensities are drawn uniformly from this range.
        prototypes: the AUs of each expression: ``facs`` (the FACS/EMFACS prototypes) or
            ``distinct`` (one AU per class, each acting on its own face region: a known-truth
            set for specificity).
    """

    def __init__(
        self,
        num_images: int = 1800,
        num_subjects: int = 60,
        image_size: int = 64,
        neutral: bool = False,
        seed: int = 0,
        intensity_range: tuple[float, float] = (0.6, 1.0),
        prototypes: str = "facs",
    ) -> None:
        if num_images < 1 or num_subjects < 1 or image_size < 16:
            raise DataError("SyntheticFaces needs num_images >= 1, num_subjects >= 1 and image_size >= 16.")
        if prototypes not in PROTOTYPE_SETS:
            raise DataError(f"data.source.prototypes={prototypes!r} is not known: use one of {', '.join(PROTOTYPE_SETS)}.")
        self.prototype_set, self.prototypes = prototypes, PROTOTYPE_SETS[prototypes]
        self.num_images = num_images
        self.num_subjects = num_subjects
        self.image_size = image_size
        self.seed = seed
        self.intensity_range = tuple(intensity_range)
        self.class_names = CLASSES_7 if neutral else CLASSES_6

    def __len__(self) -> int:
        return self.num_images

    @property
    def labels(self) -> np.ndarray:
        """[N] int class index of every image."""
        return (np.arange(self.num_images) // self.num_subjects) % len(self.class_names)

    @property
    def subjects(self) -> list[str]:
        """Subject id of every image."""
        return [f"s{i % self.num_subjects:03d}" for i in range(self.num_images)]

    def describe(self) -> str:
        prototypes = "" if self.prototype_set == "facs" else f", {self.prototype_set} prototypes"
        return f"synthetic faces ({self.num_images} images, {self.num_subjects} subjects, {self.image_size}px, seed {self.seed}{prototypes})"

    # -- sampling -------------------------------------------------------------------
    def _identity(self, subject: int) -> tuple[np.ndarray, Look]:
        rng = np.random.default_rng([self.seed, 1, subject])
        shape = MEAN_SHAPE.copy()
        shape[17:48, 0] *= 1 + rng.uniform(-0.06, 0.06)  # eye and brow spacing
        shape[17:27, 1] += rng.uniform(-0.015, 0.015)  # brow height
        shape[31:36, 1] += rng.uniform(-0.015, 0.015)  # nose length
        shape[48:68, 0] *= 1 + rng.uniform(-0.08, 0.08)  # mouth width
        shape[48:68, 1] += rng.uniform(-0.015, 0.015)
        shape[:17, 0] *= 1 + rng.uniform(-0.05, 0.05)  # jaw width
        shape[3:14, 1] += rng.uniform(-0.03, 0.03) * np.sin(np.linspace(0, np.pi, 11))  # face length
        shape += rng.normal(0, 0.003, shape.shape)
        tone = rng.uniform(0.35, 1.0)
        skin = (90 + 150 * tone, 60 + 130 * tone, 45 + 115 * tone)
        hair = tuple(rng.uniform(10, 90) * np.array([1.0, 0.8, 0.6]) * rng.uniform(0.6, 2.2))
        look = Look(
            skin=skin,
            hair=hair,
            lips=(skin[0] * 0.85 + 20, skin[1] * 0.55, skin[2] * 0.55),
            iris=tuple(rng.uniform(30, 140, 3)),
            brow_thickness=rng.uniform(0.022, 0.034),
            hair_volume=rng.uniform(0.95, 1.2),
            hairline=rng.uniform(-0.7, -0.62),
            forehead_top=rng.uniform(-0.8, -0.74),
        )
        return shape, look

    def _scene(self, index: int, label: int) -> _Scene:
        rng = np.random.default_rng([self.seed, 2, index])
        variants = self.prototypes[self.class_names[label]]
        prototype = variants[rng.integers(len(variants))]
        low, high = self.intensity_range
        return _Scene(
            aus={au: float(rng.uniform(low, high)) for au in prototype},
            angle_deg=float(rng.uniform(-10, 10)),
            scale=float(rng.uniform(0.5, 0.6)),
            shift=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.03, 0.03))),
            background=tuple(rng.uniform(20, 235, 3)),
            clutter_seed=int(rng.integers(2**31)),
            light_direction=float(rng.uniform(0, 2 * np.pi)),
            light_strength=float(rng.uniform(0.0, 0.35)),
            brightness=float(rng.uniform(0.8, 1.15)),
            noise_sigma=float(rng.uniform(0, 6)),
            noise_seed=int(rng.integers(2**31)),
        )

    # -- rendering ------------------------------------------------------------------
    def _placement(self, scene: _Scene, canvas_size: int) -> Placement:
        scale = scene.scale * canvas_size
        center = (canvas_size - 1) / 2 + np.array(scene.shift) * canvas_size
        theta = np.deg2rad(scene.angle_deg)
        # the face's vertical middle (y = -0.05 face units) goes to the image centre
        offset = center - scale * np.array([np.sin(theta), np.cos(theta)]) * -0.05
        return Placement(scale, scene.angle_deg, (float(offset[0]), float(offset[1])))

    def _render(self, index: int, with_aus: bool, photometric: bool) -> tuple[np.ndarray, np.ndarray]:
        label = int(self.labels[index])
        shape, look = self._identity(index % self.num_subjects)
        scene = self._scene(index, label)
        aus = scene.aus if with_aus else {}
        moved = displace(shape, aus)
        size = self.image_size * _SUPERSAMPLE
        canvas = np.empty((size, size, 3), np.uint8)
        canvas[:] = np.array(scene.background, np.uint8)
        _draw_clutter(canvas, scene)
        placement = self._placement(scene, size)
        draw_face(canvas, moved, placement, look, aus)
        image = cv2.resize(canvas, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA).astype(np.float32)
        if photometric:
            image = _light(image, scene)
            image += np.random.default_rng(scene.noise_seed).normal(0, scene.noise_sigma, image.shape)
        landmarks = (placement.to_px(moved) + 0.5) / _SUPERSAMPLE - 0.5
        return np.clip(image, 0, 255).round().astype(np.uint8), landmarks.astype(np.float32)

    def __getitem__(self, index: int) -> FaceSample:
        if not 0 <= index < self.num_images:
            raise IndexError(f"image {index} out of range 0..{self.num_images - 1}")
        image, landmarks = self._render(index, with_aus=True, photometric=True)
        return FaceSample(image=image, label=int(self.labels[index]), landmarks=landmarks, subject=f"s{index % self.num_subjects:03d}")

    def parts(self, index: int) -> np.ndarray:
        """[H, W] uint8 part labels (``face_drawing.Part``) of image ``index``, without AA."""
        label = int(self.labels[index])
        shape, look = self._identity(index % self.num_subjects)
        scene = self._scene(index, label)
        canvas = np.zeros((self.image_size, self.image_size, 3), np.uint8)
        draw_face(canvas, displace(shape, scene.aus), self._placement(scene, self.image_size), look, scene.aus, labels=True)
        return canvas[..., 0]

    def au_region(self, index: int) -> np.ndarray:
        """[H, W] bool: pixels the expression's AUs changed in image ``index`` (known truth
        for saliency): the image against the same face rendered neutral."""
        expressive, _ = self._render(index, with_aus=True, photometric=False)
        neutral, _ = self._render(index, with_aus=False, photometric=False)
        changed = np.abs(expressive.astype(np.int16) - neutral.astype(np.int16)).sum(axis=2) > _REGION_THRESHOLD
        return changed

    def class_regions(self, index: int) -> np.ndarray:
        """[C, H, W] bool: per class, the pixels its prototype's AUs (the first alternative, at
        the top of ``intensity_range``) change on the face of image ``index``, drawn as it is
        (pose, scale, background) without its own AUs: where each class would act on this face
        (known truth for interventions, ``evaluation.region_importance.intervention.intervene``)."""
        shape, look = self._identity(index % self.num_subjects)
        scene = self._scene(index, int(self.labels[index]))
        size = self.image_size * _SUPERSAMPLE
        placement = self._placement(scene, size)

        def drawn(aus: dict[int, float]) -> np.ndarray:
            canvas = np.empty((size, size, 3), np.uint8)
            canvas[:] = np.array(scene.background, np.uint8)
            _draw_clutter(canvas, scene)
            draw_face(canvas, displace(shape, aus), placement, look, aus)
            return cv2.resize(canvas, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA).astype(np.int16)

        neutral = drawn({})
        regions = []
        for name in self.class_names:
            aus = {au: self.intensity_range[1] for au in self.prototypes[name][0]}
            regions.append(np.abs(drawn(aus) - neutral).sum(axis=2) > _REGION_THRESHOLD if aus else np.zeros((self.image_size,) * 2, bool))
        return np.stack(regions)


def _draw_clutter(canvas: np.ndarray, scene: _Scene) -> None:
    """A few random rectangles, discs and lines on the background."""
    rng = np.random.default_rng(scene.clutter_seed)
    size = canvas.shape[0]
    for _ in range(int(rng.integers(2, 7))):
        color = tuple(float(c) for c in np.clip(np.array(scene.background) + rng.normal(0, 60, 3), 0, 255))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        extent = int(rng.integers(size // 16 + 1, size // 4 + 2))
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(canvas, (x, y), (x + extent, y + extent // 2), color, -1)
        elif kind == 1:
            cv2.circle(canvas, (x, y), extent // 2, color, -1, cv2.LINE_AA)
        else:
            cv2.line(canvas, (x, y), (x + extent, y - extent), color, max(1, size // 64), cv2.LINE_AA)


def _light(image: np.ndarray, scene: _Scene) -> np.ndarray:
    """Brightness times a linear light gradient across the image ([H, W, 3] float 0-255)."""
    size = image.shape[0]
    coords = (np.arange(size) - (size - 1) / 2) / size
    gradient = np.cos(scene.light_direction) * coords[None, :] + np.sin(scene.light_direction) * coords[:, None]
    gain = scene.brightness * (1 + scene.light_strength * 2 * gradient)
    return image * gain[..., None]


__all__ = ["SyntheticFaces", "Part"]
