"""The plain-Python API exported from ``ferlens`` (the package's ``__init__``)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

import ferlens
from tests.conftest import ROOT


@pytest.mark.parametrize("name", ferlens.__all__)
def test_every_public_name_imports_with_a_docstring_and_type_hints(name):
    value = getattr(ferlens, name)
    assert (inspect.getdoc(value) or "").strip(), f"ferlens.{name} has no docstring"
    function = value.__init__ if inspect.isclass(value) else value
    if inspect.isfunction(function) and function is not object.__init__:
        hints = inspect.signature(function).parameters
        assert all(p.annotation is not inspect.Parameter.empty for n, p in hints.items() if n not in ("self", "args", "kwargs")), f"ferlens.{name}"


def test_import_ferlens_loads_no_torch_and_unknown_names_are_refused():
    code = "import sys, ferlens; assert 'torch' not in sys.modules; ferlens.__all__; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120).stdout.strip() == "ok"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        ferlens.nothing  # noqa: B018
    assert "FERModule" in dir(ferlens) and (ROOT / "__init__.py").is_file()


def test_score_maps_of_the_masks_themselves_is_perfect_on_the_diagonal():
    family = ferlens.ekman_family()
    masks = np.stack(list(family.values()))
    scores = ferlens.score_maps(masks.astype(np.float32), family)
    assert scores["iou"].shape == (len(family), len(family))
    np.testing.assert_allclose(np.diag(scores["iou"]), 1.0)  # each mask, as a map, covers exactly itself
    np.testing.assert_allclose(np.diag(scores["mass_accuracy"]), 1.0)
    off = scores["iou"][~np.eye(len(family), dtype=bool)]
    assert (off < 1).all()
    with pytest.raises(ferlens.UserError, match=r"takes maps \[B, 275, 224\] and masks \[M, 275, 224\]"):
        ferlens.score_maps(np.zeros((1, 64, 64)), family)


def test_the_packages_export_their_public_names():
    from ferlens.callbacks import GlobalSaliency
    from ferlens.faces import FaceSettings, TemplateWarper, prepare_face
    from ferlens.lightning_modules import FERModule

    exported = (ferlens.GlobalSaliency, ferlens.FERModule, ferlens.TemplateWarper, ferlens.prepare_face)
    assert (GlobalSaliency, FERModule, TemplateWarper, prepare_face) == exported
    assert FaceSettings(detector="dlib", landmarks="dlib").detector == "dlib"  # as the landmarks refusal of callbacks.protocol names it
