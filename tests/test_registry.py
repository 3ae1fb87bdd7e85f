"""The one registry by name behind the explainers, the networks and the dataset readers."""

import pytest

from ferlens.registry import Registry
from ferlens.user_errors import UserError


class UnknownShapeError(UserError):
    pass


def _shapes() -> Registry:
    shapes = Registry("shape", UnknownShapeError)

    @shapes.register("square", corners=4)
    def square(side: float = 1.0) -> float:
        return side * side

    @shapes.register("disc")
    def disc(radius: float = 1.0, *, pi: float = 3.14) -> float:
        return pi * radius * radius

    return shapes


def test_register_names_get_and_contains():
    shapes = _shapes()
    assert shapes.names() == ["disc", "square"] == list(shapes) and len(shapes) == 2
    assert "square" in shapes and "circle" not in shapes
    assert shapes.get("square")(side=3) == 9 and shapes.get("disc").__name__ == "disc"
    assert dict(shapes.metadata("square")) == {"corners": 4} and dict(shapes.metadata("disc")) == {}


def test_the_decorator_returns_the_object_unchanged_and_fills_a_given_dict():
    entries: dict = {}
    shapes = Registry("shape", entries=entries)

    def line() -> None:
        pass

    assert shapes.register("line")(line) is line and entries == {"line": line}


def test_a_name_is_registered_once():
    shapes = _shapes()
    taken = r"^A shape named 'square' is already registered \(<function .*square.*>\): register <function .*> under another name\.$"
    with pytest.raises(ValueError, match=taken):
        shapes.register("square")(lambda side: side)
    assert shapes.get("square")(side=2) == 4


def test_an_unknown_name_is_one_sentence_naming_the_choices():
    with pytest.raises(UnknownShapeError, match=r"^Unknown shape 'circle': choose one of disc, square\.$"):
        _shapes().get("circle")
    hinted = Registry("network", unknown_hint=", or a timm model id (timm.list_models())")
    hinted.register("smallcnn")(object)
    with pytest.raises(UserError, match=r"^Unknown network 'vgg17': choose one of smallcnn, or a timm model id \(timm\.list_models\(\)\)\.$"):
        hinted.get("vgg17")
    assert str(hinted.unknown("vgg17")) == "Unknown network 'vgg17': choose one of smallcnn, or a timm model id (timm.list_models())."
    with pytest.raises(UserError, match=r"^Unknown shape 'circle': none is registered\.$"):
        Registry("shape").get("circle")


def test_an_unknown_keyword_is_one_sentence_naming_the_accepted_ones():
    shapes = _shapes()
    shapes.check_keywords("disc", ["radius", "pi"])
    with pytest.raises(UnknownShapeError, match=r"^Shape 'disc' has no parameter r, colour: its parameters are radius, pi\.$"):
        shapes.check_keywords("disc", ["r", "radius", "colour"])
    with pytest.raises(UnknownShapeError, match=r"^Unknown shape 'circle': choose one of disc, square\.$"):
        shapes.check_keywords("circle", ["radius"])
    shapes.register("point")(lambda: None)
    with pytest.raises(UnknownShapeError, match=r"^Shape 'point' has no parameter size: its parameters are none\.$"):
        shapes.check_keywords("point", ["size"])


def test_the_keyword_sentence_is_the_registry_s_own():
    template = Registry("dataset reader", refusal="{Kind} '{name}' has no option {unknown}: its options are {accepted}.", supplied=("root",))

    @template.register("folder")
    def folder(root: str, split_folders: bool = False) -> None:
        pass

    with pytest.raises(UserError, match=r"^Dataset reader 'folder' has no option root, split: its options are split_folders\.$"):
        template.check_keywords("folder", ["root", "split"])

    function = Registry("network", refusal=lambda name, unknown, accepted: f"{name} has no setting '{sorted(unknown)[0]}' ({', '.join(accepted)}).")

    @function.register("timm")
    def timm(num_layers: int = 2, **settings: object) -> None:
        pass

    function.check_keywords("timm", ["drop_path_rate", "num_layers"])  # **settings takes any keyword
    function.register("small")(lambda dropout=0.0: None)
    with pytest.raises(UserError, match=r"^small has no setting 'depth' \(dropout\)\.$"):
        function.check_keywords("small", ["width", "depth"])
