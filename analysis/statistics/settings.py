"""The ``statistics`` block of analyze.py's config as one typed, checked settings object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ferlens.analysis.statistics.intervals import INTERVALS
from ferlens.evaluation.localisation.scores import METRICS
from ferlens.user_errors import UserError

#: resampling units: ``subjects`` when every image's subject is known (``auto``), else ``images``
UNITS = ("auto", "subjects", "images")
#: tree linkages drawn and supported (``cluster_stability.py``)
LINKAGES = ("average", "complete", "ward")
#: the metric that carries the verdicts when ``statistics.headline`` does not name a family
DEFAULT_HEADLINE = "iou"


@dataclass(frozen=True)
class StatisticsSettings:
    """The ``statistics`` config of analyze.py.

    resamples: bootstrap replicates (cells, means, differences, ranks, cluster support).
    confidence: level of every interval. interval: how a replicate distribution becomes an
    interval (``INTERVALS``; ``debiased`` by default: the expanded percentile interval around
    the bias-corrected estimate, which covered 95 % in ``benchmarks/bench_coverage.py`` where
    the percentile interval's coverage of NCC fell to 74 % and BCa's to 90 %).
    resample: ``UNITS``. headline: the metric that carries the verdicts and enters the
    family-wise false-discovery control, one name for every mask family or {family: metric}.
    fdr: the false-discovery rate at which a claim is called significant.
    permutations: Monte Carlo permutations where a test is not exact. split_halves: random
    halvings for the reliability. reliability_threshold: maps below it are marked.
    linkages: trees drawn and supported. centre_sigma: the centre-bias Gaussian's SD
    (fraction of the template's width and height). seed: every random draw. batch:
    replicates per vectorised step (memory: about batch x cells x 3080 floats).
    """

    enabled: bool = True
    resamples: int = 2000
    confidence: float = 0.95
    interval: str = "debiased"
    resample: str = "auto"
    headline: str | Mapping[str, str] = DEFAULT_HEADLINE
    fdr: float = 0.05
    permutations: int = 9999
    split_halves: int = 200
    reliability_threshold: float = 0.8
    linkages: tuple[str, ...] = LINKAGES
    centre_sigma: float = 0.25
    seed: int = 0
    batch: int = 50

    def __post_init__(self) -> None:
        object.__setattr__(self, "linkages", tuple(self.linkages))
        if self.interval not in INTERVALS:
            raise UserError(f"statistics.interval={self.interval!r} is not valid: use one of {', '.join(INTERVALS)}.")
        if self.resample not in UNITS:
            raise UserError(f"statistics.resample={self.resample!r} is not valid: use one of {', '.join(UNITS)}.")
        unknown = [name for name in self.linkages if name not in LINKAGES]
        if unknown:
            raise UserError(f"statistics.linkages has {', '.join(unknown)}: use some of {', '.join(LINKAGES)}.")
        for name, low in (("resamples", 10), ("permutations", 10), ("split_halves", 2), ("batch", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"statistics.{name}={value!r} is not valid: use a whole number >= {low}.")
        if not 0 < self.confidence < 1:
            raise UserError(f"statistics.confidence={self.confidence!r} is not valid: use a level between 0 and 1, e.g. 0.95.")
        if not 0 < self.fdr < 1:
            raise UserError(f"statistics.fdr={self.fdr!r} is not valid: use a rate between 0 and 1, e.g. 0.05.")
        if not 0 < self.centre_sigma <= 2:
            raise UserError(f"statistics.centre_sigma={self.centre_sigma!r} is not valid: use a fraction of the template size, e.g. 0.25.")
        if isinstance(self.headline, Mapping):
            object.__setattr__(self, "headline", dict(self.headline))
        for metric in [self.headline] if isinstance(self.headline, str) else self.headline.values():
            if metric not in METRICS:
                raise UserError(f"statistics.headline={metric!r} is not a metric: use one of {', '.join(METRICS)}.")

    def headline_of(self, family: str) -> str:
        """The headline metric of a mask family."""
        if isinstance(self.headline, str):
            return self.headline
        return self.headline.get(family, DEFAULT_HEADLINE)
