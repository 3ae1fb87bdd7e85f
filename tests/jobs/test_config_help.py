"""The groups each entry script offers (its --help) and one sentence for an unknown option."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ferlens.jobs.config_help import RESOLVER, composed_groups, config_groups_text, group_options, register_help_resolver, unknown_option_message
from tests.conftest import CONFIGS


def test_each_entry_script_lists_only_the_groups_its_config_composes():
    assert composed_groups(CONFIGS, "train") == ["data", "face", "trainer", "model", "logger", "callbacks", "saliency", "experiment"]
    assert composed_groups(CONFIGS, "analyze") == ["source"]
    assert "_real" not in group_options(CONFIGS, "data") and "synthetic" in group_options(CONFIGS, "data")
    assert (CONFIGS / "model" / "_backbone.yaml").is_file()  # the eight ImageNet backbones' shared base, not a choice
    assert "_backbone" not in group_options(CONFIGS, "model") and {"vgg16", "efficientnetv2b0", "smallcnn"} <= set(group_options(CONFIGS, "model"))
    assert "_backbone" not in config_groups_text(CONFIGS, "train")
    assert config_groups_text(CONFIGS, "analyze") == "source: local, paper, wandb"


def test_the_help_resolver_fills_the_template(tmp_path: Path):
    (tmp_path / "app.yaml").write_text("defaults:\n  - _self_\n  - colour: red\n  - optional shape: null\n  - override hydra/launcher: basic\n")
    for name in ("colour/red", "colour/blue", "colour/_base", "shape/round"):
        (tmp_path / f"{name}.yaml").parent.mkdir(exist_ok=True)
        (tmp_path / f"{name}.yaml").write_text("{}\n")
    register_help_resolver(tmp_path)
    assert OmegaConf.has_resolver(RESOLVER)
    assert config_groups_text(tmp_path, "app") == "colour: blue, red\nshape: round"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["saliency=[gradcam,shap]"], "saliency has no option 'shap': did you mean kernelshap, gradientshap? Its 30 options are"),
        (["model=vgg16,vgg17"], "model has no option 'vgg17': choose from alexnet,"),
        (["+experiment=papers"], "experiment has no option 'papers': choose from au_guided, au_guided_paper_ablation, known_truth, paper"),
        (["data=_real"], "data has no option '_real'"),
        (["model=_backbone"], "model has no option '_backbone': choose from alexnet, custom, efficientnetv2b0,"),
    ],
)
def test_an_unknown_option_is_one_sentence_with_the_valid_ones(overrides, message):
    assert unknown_option_message(["-m", "--cfg", "job", "trainer.max_epochs=3", *overrides], CONFIGS, "train").startswith(message)  # flags passed over


VALID = [["saliency=[gradcam,lime]"], ["model=vgg16,resnet50"], ["logger=null"], ["~logger"], ["saliency=[]"], ["source=nope"], ["a=[b"]]


@pytest.mark.parametrize("overrides", VALID)
def test_valid_choices_other_groups_and_syntax_errors_are_left_alone(overrides):
    assert unknown_option_message(overrides, CONFIGS, "train") is None  # source is analyze's; Hydra reports syntax errors
