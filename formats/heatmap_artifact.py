"""The heatmap artifact of docs/DESIGN.md ("The heatmap artifact"), the seam between training and analysis.

heatmaps/<method>/
  manifest.json   the typed, versioned ``formats.manifest.HeatmapManifest``: run, weights,
                  saliency, selection, warp, template, classes, counts per class, empty
                  classes, skipped samples, sanity checks, code version, sha256 of every file
  heatmaps.npy    float32 [classes, 275, 224]: per-class mean warped saliency, unstretched
  png/<Class>.png uint8 min-max stretched gray (paper-compatible)
  jet/<Class>.png colour (JET) version for people: the gray map with the template face
                  (jaw, brows, nose, eyes, lips through the 68 landmarks) drawn in white
  evidence.npz    the explained images' own maps on a 55x56 grid with their ids, subjects,
                  true and predicted classes (``formats/evidence.py``; artifacts written
                  before ferlens 0.2.0 have none and are still read)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.formats.evidence import EVIDENCE_BLOCK, EVIDENCE_FILE, EVIDENCE_HEIGHT, EVIDENCE_WIDTH, ImageEvidence, read_evidence, write_evidence
from ferlens.formats.manifest import CorruptArtifactError, EvidenceInfo, HeatmapManifest, TemplateInfo

ARTIFACT_TYPE = "global-heatmaps"
#: dlib's 68-point groups (first, stop, closed) drawn as the face outline: jaw, brows, nose
#: bridge, nostrils, eyes, outer and inner lips
FACE_OUTLINES = (
    (0, 17, False),
    (17, 22, False),
    (22, 27, False),
    (27, 31, False),
    (31, 36, False),
    (36, 42, True),
    (42, 48, True),
    (48, 60, True),
    (60, 68, True),
)
WHITE = (255, 255, 255)


@dataclass
class HeatmapArtifact:
    """Per-class mean heatmaps float32 [C, 275, 224] with their ``manifest`` and, for
    artifacts of ferlens 0.2.0 on, the per-image ``evidence`` behind them (else None)."""

    heatmaps: np.ndarray
    manifest: HeatmapManifest
    evidence: ImageEvidence | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.manifest.classes)


def stretch(heatmap: np.ndarray) -> np.ndarray:
    """Min-max stretch to uint8 [0, 255]; a constant map stays 0 (the study's rule)."""
    low, high = float(heatmap.min()), float(heatmap.max())
    if high <= low:
        return np.zeros(heatmap.shape, np.uint8)
    return np.round((heatmap - low) / (high - low) * 255).astype(np.uint8)


def jet_image(gray: np.ndarray | None) -> np.ndarray:
    """uint8 BGR [275, 224, 3] for people: the gray heatmap uint8 [275, 224] in JET with the
    template face outline (``FACE_OUTLINES``, 1 px through the 68 landmarks) in white; None (an
    empty class: no map) gives the outline on mid-gray, labelled "(empty)"."""
    if gray is None:
        image = np.full((TEMPLATE_HEIGHT, TEMPLATE_WIDTH, 3), 128, np.uint8)
        cv2.putText(image, "(empty)", (TEMPLATE_WIDTH // 2 - 40, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, WHITE, 1, cv2.LINE_AA)
    else:
        image = cv2.applyColorMap(gray, cv2.COLORMAP_JET)
    points = np.round(template_points()[:68]).astype(np.int32)
    for first, stop, closed in FACE_OUTLINES:
        cv2.polylines(image, [points[first:stop, None]], closed, WHITE, 1, cv2.LINE_8)
    return image


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The manifest's own checksum: sha256 of its canonical JSON without this key (version 3 on).
SIGNATURE_KEY = "manifest_sha256"


def manifest_signature(data: dict) -> str:
    """The sha256 of a manifest's canonical content: its JSON with sorted keys, no spaces and
    no ``SIGNATURE_KEY``, so key order, indentation and the signature itself do not count."""
    content = {key: value for key, value in data.items() if key != SIGNATURE_KEY}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def sign_manifest(data: dict) -> dict:
    """``data`` with its ``SIGNATURE_KEY`` (what ``write_artifact`` writes)."""
    return {**data, SIGNATURE_KEY: manifest_signature(data)}


def artifact_files(classes: list[str], evidence: bool = False) -> list[str]:
    """The files of an artifact with ``classes`` (and ``evidence.npz``), relative to its
    directory: each one has a sha256 entry in the manifest and is verified by ``read_artifact``."""
    return ["heatmaps.npy"] + [f"{kind}/{name}.png" for kind in ("png", "jet") for name in classes] + ([EVIDENCE_FILE] if evidence else [])


def write_artifact(
    directory: str | Path, heatmaps: np.ndarray, counts: list[int], classes: list[str], manifest: HeatmapManifest, evidence: ImageEvidence | None = None
) -> Path:
    """Write the artifact into ``directory`` (created): ``heatmaps`` float32 [C, 275, 224],
    ``counts`` images per class; ``manifest`` gives the run, weights, saliency, selection and
    checks, completed here with the classes, counts, template, evidence entry and checksums
    (``manifest.json`` is its ``to_dict()``). Returns the directory."""
    directory = Path(directory)
    if heatmaps.shape != (len(classes), TEMPLATE_HEIGHT, TEMPLATE_WIDTH) or len(counts) != len(classes):
        raise ValueError(f"heatmaps {heatmaps.shape} and counts {len(counts)} do not match {len(classes)} classes")
    if evidence is not None and np.bincount(evidence.target, minlength=len(classes)).tolist() != [int(c) for c in counts]:
        raise ValueError(f"the evidence holds {np.bincount(evidence.target, minlength=len(classes)).tolist()} images per class, the counts are {counts}")
    (directory / "png").mkdir(parents=True, exist_ok=True)
    (directory / "jet").mkdir(exist_ok=True)
    np.save(directory / "heatmaps.npy", heatmaps.astype(np.float32))
    for name, heatmap, count in zip(classes, heatmaps, counts, strict=True):
        gray = stretch(heatmap)
        cv2.imwrite(str(directory / "png" / f"{name}.png"), gray)
        cv2.imwrite(str(directory / "jet" / f"{name}.png"), jet_image(gray if count else None))
    if evidence is not None:
        write_evidence(directory / EVIDENCE_FILE, evidence)
    files = artifact_files(classes, evidence is not None)
    full = manifest.replace(
        classes=tuple(classes),
        counts={name: int(c) for name, c in zip(classes, counts, strict=True)},
        template=TemplateInfo.current(),
        evidence=evidence_entry(evidence) if evidence is not None else None,
        sha256={name: _sha256(directory / name) for name in files},
    )
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(full.to_dict()), indent=2, sort_keys=True))
    return directory


def evidence_entry(evidence: ImageEvidence) -> EvidenceInfo:
    """The manifest's description of ``evidence.npz``."""
    return EvidenceInfo(
        file=EVIDENCE_FILE,
        images=len(evidence),
        grid=(EVIDENCE_HEIGHT, EVIDENCE_WIDTH),
        block=EVIDENCE_BLOCK,
        dtype="float16 maps scaled by each image's maximum (float32 scale)",
        subjects_known=evidence.subjects_known(),
    )


def _check_files(directory: Path, manifest: HeatmapManifest) -> None:
    """The manifest must give a sha256 entry for every file of the artifact
    (``artifact_files``), each a path inside the directory."""
    where = directory / "manifest.json"
    unlisted = [name for name in artifact_files(list(manifest.classes), manifest.evidence is not None) if name not in manifest.sha256]
    if unlisted:
        raise CorruptArtifactError(
            f"The manifest '{where}' has no sha256 for {', '.join(unlisted)}: the artifact cannot be verified, download or write it again."
        )
    outside = [name for name in manifest.sha256 if Path(name).is_absolute() or ".." in Path(name).parts]
    if outside:
        raise CorruptArtifactError(f"The manifest '{where}' lists files outside the artifact ({', '.join(outside)}): refusing it, write it again.")


def read_manifest(directory: str | Path) -> HeatmapManifest:
    """The checked manifest of the artifact in ``directory`` (``HeatmapManifest.from_dict``;
    the files it lists are not verified: ``read_artifact`` does that)."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise CorruptArtifactError(f"'{directory}' is not a heatmap artifact (no manifest.json): point to a heatmaps/<method> directory.")
    try:
        data = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise CorruptArtifactError(
            f"The manifest '{manifest_path}' is not valid JSON ({error.msg}): the artifact is damaged, download or write it again."
        ) from error
    _check_signature(data, manifest_path)
    return HeatmapManifest.from_dict(data, str(manifest_path))


def _check_signature(data: object, manifest_path: Path) -> None:
    """A signed manifest must match its signature; from version 3 on it must be signed
    (older manifests, written before signing, are read as they are)."""
    if not isinstance(data, dict):
        return  # from_dict refuses it in its own sentence
    signed = data.get(SIGNATURE_KEY)
    version = data.get("version", 1)
    if signed is None and isinstance(version, int) and version >= 3:
        raise CorruptArtifactError(f"The manifest '{manifest_path}' has no {SIGNATURE_KEY}: it cannot be verified, download or write the artifact again.")
    if signed is not None and signed != manifest_signature(data):
        raise CorruptArtifactError(
            f"The manifest '{manifest_path}' was edited after it was written (its content does not match its {SIGNATURE_KEY}): "
            "restore the file or write the artifact again."
        )


def read_artifact(directory: str | Path) -> HeatmapArtifact:
    """Read and verify an artifact directory: its manifest must pass the schema
    (``read_manifest``) and every file it reads must have a matching sha256 in it. A damaged
    or incomplete one raises ``CorruptArtifactError`` with one sentence saying what is wrong."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    _check_files(directory, manifest)
    for name, expected in manifest.sha256.items():
        path = directory / name
        if not path.is_file() or _sha256(path) != expected:
            raise CorruptArtifactError(f"'{path}' is missing or does not match its checksum: the artifact is damaged, download or write it again.")
    try:
        heatmaps = np.load(directory / "heatmaps.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise CorruptArtifactError(f"'{directory / 'heatmaps.npy'}' is not a readable array ({error}): the artifact is damaged, write it again.") from None
    expected_shape = (len(manifest.classes), manifest.template.height, manifest.template.width)
    if heatmaps.shape != expected_shape:
        held, wanted = (" x ".join(map(str, shape)) for shape in (heatmaps.shape, expected_shape))
        raise CorruptArtifactError(
            f"'{directory / 'heatmaps.npy'}' holds an array of shape {held}, not {wanted} (classes x template height x width): write the artifact again."
        )
    bad = [name for name, heatmap in zip(manifest.classes, heatmaps, strict=True) if not np.isfinite(heatmap).all()]
    if bad:
        raise CorruptArtifactError(f"'{directory / 'heatmaps.npy'}' has NaN or infinite values in the heatmap of {', '.join(bad)}: write the artifact again.")
    evidence = read_evidence(directory / EVIDENCE_FILE, list(manifest.classes), manifest.counts) if manifest.evidence is not None else None
    return HeatmapArtifact(heatmaps, manifest, evidence)
