"""The heatmap artifact's manifest (``heatmaps/<method>/manifest.json``) as one typed,
versioned schema, like timm's ``pretrained_cfg``.

GlobalSaliency builds a ``HeatmapManifest`` (run, weights, saliency, selection, warp, sanity
checks ...); ``formats.heatmap_artifact.write_artifact`` completes it (classes, counts,
template, evidence, checksums) and writes ``to_dict()`` as JSON; ``read_artifact`` and the
W&B source read it back with ``HeatmapManifest.from_dict``, which checks every required key
and every type and refuses a bad manifest in one sentence (``CorruptArtifactError``).

Rule: a field without a default is required (present, not null); a field with a default is
optional, and absent or null reads as its default (None: "not recorded"). The exception:
``classes``, ``counts``, ``template`` and ``sha256`` are empty until ``write_artifact`` fills
them, and required in a manifest read from disk. Keys this schema does not know are ignored.

Versions (``version``; ``schema_version``, the artifact's file layout, stays 1):

1. every manifest written before this schema, without a ``version`` key. Entries were added
   along the way; absent, they read as None: ``saliency.key``, ``weights``,
   ``selection.split``, ``skipped_samples`` and the run's ``input_size``, ``normalization``,
   ``mean``, ``std``, ``au_guidance``, ``au_layers``, ``sweep``, ``dir``, ``started``;
   ``template.points_sha256``; ``zero_maps``, ``correct_share``, ``evidence`` (ferlens 0.2.0),
   ``face_preparation``, ``faithfulness`` and ``randomisation``; ``faithfulness.normalised``
   with the ``normalised_*`` metrics (issue 31: absent in any earlier manifest).
2. the same entries, with ``version``.
3. the same, signed: ``manifest_sha256`` (``formats.heatmap_artifact.manifest_signature``)
   is the sha256 of the manifest's canonical JSON without it, so a hand-edited count or any
   other edit is refused like a damaged file; required from this version on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_NAME, TEMPLATE_WIDTH, template_sha256
from ferlens.user_errors import UserError

#: the manifest's schema version (``version``); a manifest without one is version 1
MANIFEST_VERSION = 3
#: the artifact's file layout (``schema_version``), unchanged since the first artifact
SCHEMA_VERSION = 1


class CorruptArtifactError(UserError):
    """A heatmap artifact that fails its schema or checksum check."""


# --- reading JSON values, one sentence per problem ----------------------------------------


class _Kind(NamedTuple):
    """A JSON value the manifest expects: ``name`` for messages, the test, the conversion;
    for a list or an object (``container``) of like values, the kind of its ``items``."""

    name: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda value: value
    items: _Kind | None = None
    container: type | None = None


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_numbers(value: Any) -> bool:
    """A number or a (nested) list of numbers: a mean, a curve."""
    return _is_number(value) or (isinstance(value, list | tuple) and all(_is_numbers(item) for item in value))


def _list_of(kind: _Kind, name: str, length: int | None = None) -> _Kind:
    """A JSON list of ``kind`` (of ``length`` items when given), read as a tuple."""
    return _Kind(
        name,
        lambda value: isinstance(value, list | tuple) and (length is None or len(value) == length) and all(kind.accepts(item) for item in value),
        lambda value: tuple(kind.convert(item) for item in value),
        kind,
        list,
    )


def _map_of(kind: _Kind, name: str) -> _Kind:
    """A JSON object whose values are all ``kind``."""
    return _Kind(
        name,
        lambda value: isinstance(value, dict) and all(kind.accepts(item) for item in value.values()),
        lambda value: {key: kind.convert(item) for key, item in value.items()},
        kind,
        dict,
    )


TEXT = _Kind("a string", lambda value: isinstance(value, str))
INTEGER = _Kind("an integer", _is_integer, int)
NUMBER = _Kind("a number", _is_number, float)
NUMBER_OR_NULL = _Kind("a number or null", lambda value: value is None or _is_number(value), lambda value: None if value is None else float(value))
FLAG = _Kind("true or false", lambda value: isinstance(value, bool))
OBJECT = _Kind("an object", lambda value: isinstance(value, dict))
TEXTS = _list_of(TEXT, "a list of strings")
NUMBERS = _list_of(NUMBER, "a list of numbers")
INTEGER_PAIR = _list_of(INTEGER, "a list of two integers", length=2)
SCALARS = _map_of(_Kind("a string, number or boolean", lambda value: isinstance(value, str | bool) or _is_number(value)), "an object of scalars")
PER_CLASS_INTEGERS = _map_of(INTEGER, "an object of integers per class")
PER_CLASS_SHARES = _map_of(NUMBER_OR_NULL, "an object of numbers or nulls per class")
PER_CLASS_TALLIES = _map_of(_map_of(INTEGER, "an object of integers"), "an object per class of integers")
DIGESTS = _map_of(TEXT, "an object of hex digests per file")
METRICS = _map_of(_Kind("a number or a list of numbers", _is_numbers), "an object of numbers or lists of numbers")
PER_CLASS_METRICS = _map_of(METRICS, "an object per class of numbers or lists of numbers")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    return {str: "a string", list: "a list", tuple: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _culprit(value: Any, kind: _Kind, path: str) -> tuple[str, Any, _Kind]:
    """(path, value, kind) of the innermost item of ``value`` that ``kind`` refuses
    (``counts.Anger``, ``run.mean[1]``), else of ``value`` itself."""
    if kind.items is not None:
        if kind.container is dict and isinstance(value, dict):
            entries = [(f"{path}.{key}", item) for key, item in value.items()]
        elif kind.container is list and isinstance(value, list | tuple):
            entries = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        else:
            entries = []
        for where, item in entries:
            if not kind.items.accepts(item):
                return _culprit(item, kind.items, where)
    return path, value, kind


class _Reader:
    """Reads the manifest's objects, naming keys by their dotted path (``run.model``): the
    required keys found absent are reported together (``lacks``), a value of the wrong type at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.missing: list[str] = []

    def take(self, data: Mapping[str, Any], path: str, kind: _Kind, required: bool = True, default: Any = None) -> Any:
        """The value at ``path`` (its last part a key of ``data``), converted; ``default`` when
        an optional key is absent or null, or a required one is absent (recorded)."""
        key = path.rsplit(".", 1)[-1]
        value = data.get(key)
        if key not in data or (value is None and not required):
            if required:
                self.missing.append(path)
            return default
        if not kind.accepts(value):
            where, wrong, expected = _culprit(value, kind, path)
            name = expected.name if required or where != path else f"{expected.name} or null"
            raise CorruptArtifactError(
                f"The manifest '{self.source}' gives {where} as {_json_type(wrong)}, expected {name}: the artifact is damaged, write it again."
            )
        return kind.convert(value)

    def section(self, data: Mapping[str, Any], path: str, reader: Callable[[_Reader, dict, str], Any], required: bool = True) -> Any:
        """A nested object read by ``reader(self, object, path)``; None when absent."""
        value = self.take(data, path, OBJECT, required)
        return None if value is None else reader(self, value, path)

    def fail_on_missing(self) -> None:
        if self.missing:
            raise CorruptArtifactError(f"The manifest '{self.source}' lacks {', '.join(self.missing)}: the artifact is incomplete, write it again.")


def _plain(value: Any) -> Any:
    """Tuples as lists, mappings as fresh dicts, all the way down: JSON-ready."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def of(kind: _Kind, **default: Any) -> Any:
    """A section field holding a JSON value of ``kind``; with ``default=`` or
    ``default_factory=`` it is optional (absent or null reads as the default), else required."""
    return field(metadata={"kind": kind}, **default)


class _Section:
    """A manifest section: its fields (``of(kind)``) read and checked by ``_read``, written by
    ``to_dict`` (every field, tuples as lists, a None field as null)."""

    @classmethod
    def _read(cls, reader: _Reader, data: dict, path: str) -> Any:
        """The section at ``path`` of the manifest, every field taken with its kind."""
        values = {}
        for item in dataclasses.fields(cls):
            required = item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
            default = None if required else item.default if item.default is not dataclasses.MISSING else item.default_factory()
            values[item.name] = reader.take(data, f"{path}.{item.name}", item.metadata["kind"], required, default)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {item.name: _plain(getattr(self, item.name)) for item in dataclasses.fields(self)}


# --- the sections ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RunInfo(_Section):
    """The training run whose weights were explained. Without W&B a run is identified by
    ``dir`` and ``started``; ``id``, ``name`` and ``sweep`` exist only for runs logged to W&B."""

    #: W&B run id, name and sweep id (None without W&B; ``sweep`` None before it was recorded)
    id: str | None = of(TEXT, default=None)
    name: str | None = of(TEXT, default=None)
    sweep: str | None = of(TEXT, default=None)
    #: the run's output directory (absolute path) and start (ISO 8601, UTC, seconds)
    dir: str | None = of(TEXT, default=None)
    started: str | None = of(TEXT, default=None)
    #: network name (``net.name``), and whether its weights began pretrained
    model: str = of(TEXT)
    pretrained: bool = of(FLAG)
    #: data source name and 1-based fold (None when the data module has none)
    dataset: str | None = of(TEXT, default=None)
    fold: int | None = of(INTEGER, default=None)
    #: the run's seed and the (0-based) epoch of the weights explained
    seed: int = of(INTEGER)
    epoch: int = of(INTEGER)
    #: network input side (pixels), normalization name, per-channel mean and std of [0, 1] RGB
    input_size: int | None = of(INTEGER, default=None)
    normalization: str | None = of(TEXT, default=None)
    mean: tuple[float, ...] | None = of(NUMBERS, default=None)
    std: tuple[float, ...] | None = of(NUMBERS, default=None)
    #: AU-guidance weight (0: unguided; None: not recorded, read as unguided) and its layers (None: the network's CAM layer)
    au_guidance: float | None = of(NUMBER, default=None)
    au_layers: tuple[str, ...] | None = of(TEXTS, default=None)

@dataclass(frozen=True, kw_only=True)
class WeightsInfo(_Section):
    """The exact weights explained: ``source`` ("best checkpoint", "final weights", "epoch N",
    "given weights"), the checkpoint file (absolute path; None for in-memory weights), their
    (0-based) ``epoch`` and validation accuracy in [0, 1] (None when not measured)."""

    source: str = of(TEXT)
    checkpoint: str | None = of(TEXT, default=None)
    epoch: int = of(INTEGER)
    val_acc: float | None = of(NUMBER, default=None)

@dataclass(frozen=True, kw_only=True)
class SaliencyInfo(_Section):
    """The explainer: its config ``key`` (the method's name in the analysis; None before it
    was recorded: the ``method`` then), its ``method`` name and scalar ``params``."""

    key: str | None = of(TEXT, default=None)
    method: str = of(TEXT)
    params: dict[str, str | int | float | bool] = of(SCALARS, default_factory=dict)


    @property
    def name(self) -> str:
        """The method's name in the analysis: the config key, else the method."""
        return self.key or self.method


@dataclass(frozen=True, kw_only=True)
class SelectionInfo(_Section):
    """Which images were explained: the ``split`` (``val`` or ``test``; None: not recorded,
    the validation split of the first artifacts), ``target`` (``predicted`` class or true
    ``label``), ``correct_only``, at most ``per_class`` per class (None: all) drawn with ``seed``."""

    split: str | None = of(TEXT, default=None)
    target: str = of(TEXT)
    correct_only: bool = of(FLAG)
    per_class: int | None = of(INTEGER, default=None)
    seed: int = of(INTEGER)

@dataclass(frozen=True, kw_only=True)
class WarpInfo(_Section):
    """How the maps were warped into the template: ``mode`` (``nearest`` or ``bilinear``) and
    ``triangulation`` (``template`` or ``face``)."""

    mode: str = of(TEXT)
    triangulation: str = of(TEXT)

@dataclass(frozen=True, kw_only=True)
class TemplateInfo(_Section):
    """The template face the heatmaps live on: its ``name``, ``width`` x ``height`` (pixels)
    and the sha256 of its points (None before it was recorded; then not compared)."""

    name: str = of(TEXT)
    width: int = of(INTEGER)
    height: int = of(INTEGER)
    points_sha256: str | None = of(TEXT, default=None)

    @staticmethod
    def current() -> TemplateInfo:
        """This ferlens' template (``faces.template``)."""
        return TemplateInfo(name=TEMPLATE_NAME, width=TEMPLATE_WIDTH, height=TEMPLATE_HEIGHT, points_sha256=template_sha256())

    def to_dict(self) -> dict[str, Any]:
        """Without ``points_sha256`` when not recorded (the analysis compares the keys both give)."""
        entries = super().to_dict()
        return entries if self.points_sha256 is not None else {key: value for key, value in entries.items() if key != "points_sha256"}

@dataclass(frozen=True, kw_only=True)
class EvidenceInfo(_Section):
    """``evidence.npz`` (``formats/evidence.py``): its ``file`` name, ``images`` (one map each),
    the evidence ``grid`` [rows, columns] = [55, 56], the template ``block`` [rows, columns]
    = [5, 4] each evidence pixel averages, the storage ``dtype`` and whether every image's
    subject is known (``subjects_known``)."""

    file: str = of(TEXT)
    images: int = of(INTEGER)
    grid: tuple[int, int] = of(INTEGER_PAIR)
    block: tuple[int, int] = of(INTEGER_PAIR)
    dtype: str = of(TEXT)
    subjects_known: bool = of(FLAG)

@dataclass(frozen=True, kw_only=True)
class FaithfulnessCheck(_Section):
    """Deletion / insertion and ROAD of every explained image (``callbacks/sanity.py``):
    ``steps`` of the curves, ROAD ``fractions`` (of the pixels, in [0, 1]) and ``noise`` (raw
    pixel units), the deletion ``baseline``; ``per_class`` {class: {metric: value}} and
    ``overall`` {metric: value} (image-weighted means): ``counts`` (images), AUCs in [0, 1],
    curves as lists; with ``normalised`` (how), also the ``normalised_`` AUCs and ROAD scores
    over ``normalised_counts`` images. A manifest written before them has neither (None)."""

    steps: int = of(INTEGER)
    fractions: tuple[float, ...] = of(NUMBERS)
    noise: float = of(NUMBER)
    baseline: str = of(TEXT)
    per_class: dict[str, dict[str, Any]] = of(PER_CLASS_METRICS)
    overall: dict[str, Any] = of(METRICS)
    normalised: str | None = of(TEXT, default=None)

@dataclass(frozen=True, kw_only=True)
class RandomisationCheck(_Section):
    """The model-parameter randomisation check (``+sanity=mprt``): the ``layers``
    randomised (output first) and those ``skipped``, ``draws`` per layer, the failure
    ``threshold`` on the fully randomised network's mean Spearman; ``per_class`` and
    ``overall`` Spearman / SSIM per randomised depth (lists of one value per layer) with
    ``counts``; ``fully_randomised_spearman`` and the verdict ``fails``."""

    layers: tuple[str, ...] = of(TEXTS)
    skipped: tuple[str, ...] = of(TEXTS)
    draws: int = of(INTEGER)
    threshold: float = of(NUMBER)
    per_class: dict[str, dict[str, Any]] = of(PER_CLASS_METRICS)
    overall: dict[str, Any] = of(METRICS)
    fully_randomised_spearman: float = of(NUMBER)
    fails: bool = of(FLAG)

#: optional entries left out of the JSON when None (their presence says the file or check exists)
_OMITTED_WHEN_NONE = ("faithfulness", "randomisation", "evidence")


@dataclass(frozen=True, kw_only=True)
class HeatmapManifest:
    """The manifest of one heatmap artifact: per-class mean heatmaps float32 [C, 275, 224]
    of one method over one run's images (``classes`` in the order of the heatmaps)."""

    run: RunInfo
    #: the weights explained (None: not recorded; ``run.epoch`` then names them)
    weights: WeightsInfo | None = None
    saliency: SaliencyInfo
    selection: SelectionInfo
    warp: WarpInfo
    #: selected images left out for lack of landmarks: how many, and their names (None: not recorded)
    skipped_no_landmarks: int
    skipped_samples: tuple[str, ...] | None = None
    #: per class the data source's face preparation {class: {images, prepared, dropped}} (None: none, e.g. synthetic faces)
    face_preparation: dict[str, dict[str, int]] | None = None
    #: the git commit of the code that wrote it ('unknown' outside a checkout)
    code_version: str
    #: per class the maps zero everywhere (no positive evidence), and the share in [0, 1] of
    #: the images classified correctly (None for an empty class); None: not recorded
    zero_maps: dict[str, int] | None = None
    correct_share: dict[str, float | None] | None = None
    #: the sanity checks, when run (None: not run)
    faithfulness: FaithfulnessCheck | None = None
    randomisation: RandomisationCheck | None = None
    #: ``evidence.npz`` (None: the artifact has no per-image evidence, as before ferlens 0.2.0)
    evidence: EvidenceInfo | None = None
    #: filled by ``write_artifact``: class names, images per class, the template, the sha256 of every file (relative path: hex digest)
    classes: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    template: TemplateInfo = field(default_factory=TemplateInfo.current)
    sha256: dict[str, str] = field(default_factory=dict)
    #: the schema version it was read with (1: written without ``version``)
    version: int = MANIFEST_VERSION

    @property
    def empty_classes(self) -> list[str]:
        """The classes without an image (count 0): missing, not zero."""
        return [name for name in self.classes if self.counts.get(name) == 0]

    def class_counts(self) -> list[int]:
        """Images behind each class heatmap, in the order of ``classes``."""
        return [self.counts[name] for name in self.classes]

    def replace(self, **changes: Any) -> HeatmapManifest:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``manifest.json``: every entry (None as null, except the
        ``faithfulness``, ``randomisation`` and ``evidence`` of an artifact without them,
        which are left out), ``empty_classes``, ``schema_version`` and ``version``."""
        entries: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None and item.name in _OMITTED_WHEN_NONE:
                continue
            entries[item.name] = value.to_dict() if isinstance(value, _Section) else _plain(value)
        entries["empty_classes"] = self.empty_classes
        entries["schema_version"] = SCHEMA_VERSION
        return entries

    @staticmethod
    def from_dict(data: Any, source: str = "manifest.json", partial: bool = False) -> HeatmapManifest:
        """Read and check a manifest of any version this ferlens wrote (``source`` names it in
        messages). ``partial``: W&B metadata, which before version 2 lacked the entries
        ``write_artifact`` completes (classes, counts, template, sha256, schema_version).
        Raises ``CorruptArtifactError`` in one sentence: the key that is absent or of the
        wrong type, an unknown schema or a newer version."""
        if not isinstance(data, dict):
            raise CorruptArtifactError(f"The manifest '{source}' is not a JSON object: the artifact is damaged, download or write it again.")
        reader = _Reader(source)
        version = reader.take(data, "version", INTEGER, required=False, default=1)
        if not 1 <= version <= MANIFEST_VERSION:
            raise CorruptArtifactError(
                f"The manifest '{source}' has version {version}, this ferlens reads versions 1 to {MANIFEST_VERSION}: upgrade ferlens to read it."
            )
        if not partial or "schema_version" in data:
            schema = data.get("schema_version")
            if schema != SCHEMA_VERSION:
                raise CorruptArtifactError(f"'{source}' has schema version {schema}, this ferlens reads {SCHEMA_VERSION}: rewrite it with this version.")
        written = not partial  # the entries write_artifact completes are required
        section = reader.section
        manifest = HeatmapManifest(
            run=section(data, "run", RunInfo._read),
            weights=section(data, "weights", WeightsInfo._read, False),
            saliency=section(data, "saliency", SaliencyInfo._read),
            selection=section(data, "selection", SelectionInfo._read),
            warp=section(data, "warp", WarpInfo._read),
            skipped_no_landmarks=reader.take(data, "skipped_no_landmarks", INTEGER),
            skipped_samples=reader.take(data, "skipped_samples", TEXTS, False),
            face_preparation=reader.take(data, "face_preparation", PER_CLASS_TALLIES, False),
            code_version=reader.take(data, "code_version", TEXT),
            zero_maps=reader.take(data, "zero_maps", PER_CLASS_INTEGERS, False),
            correct_share=reader.take(data, "correct_share", PER_CLASS_SHARES, False),
            faithfulness=section(data, "faithfulness", FaithfulnessCheck._read, False),
            randomisation=section(data, "randomisation", RandomisationCheck._read, False),
            evidence=section(data, "evidence", EvidenceInfo._read, False),
            classes=reader.take(data, "classes", TEXTS, written, ()),
            counts=reader.take(data, "counts", PER_CLASS_INTEGERS, written, {}),
            template=section(data, "template", TemplateInfo._read, written) or TemplateInfo.current(),
            sha256=reader.take(data, "sha256", DIGESTS, written, {}),
            version=version,
        )
        reader.fail_on_missing()
        uncounted = [name for name in manifest.classes if name not in manifest.counts]
        if uncounted:
            raise CorruptArtifactError(f"The manifest '{source}' gives no count for {', '.join(uncounted)}: the artifact is incomplete, write it again.")
        return manifest
