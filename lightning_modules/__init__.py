"""The LightningModule of ferlens (``FERModule``) and its AU guidance and AU metrics."""

from ferlens.lightning_modules.au_guidance import AUGuidance
from ferlens.lightning_modules.au_metrics import AUAlignmentScore
from ferlens.lightning_modules.fer_module import FERModule

__all__ = ["AUAlignmentScore", "AUGuidance", "FERModule"]
