"""train.py end to end: config composition, runs, errors, DDP."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import hydra
import pytest
from omegaconf import OmegaConf

from ferlens import training
from ferlens.datamodules.folds import fold_indices
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.evaluation.localisation.quick import score_artifact
from ferlens.formats.heatmap_artifact import read_artifact
from ferlens.networks.custom import resolve_custom_data_config
from ferlens.networks.registry import resolve_data_config
from ferlens.user_errors import UserError, user_message
from tests.conftest import CONFIGS, ROOT, SMALL_DATA, run_train

GROUPS = {
    group: sorted(p.stem for p in (CONFIGS / group).glob("*.yaml") if not p.stem.startswith("_"))
    for group in ("data", "face", "trainer", "model", "logger", "callbacks", "saliency", "experiment")
}
REAL_DATA = [choice for choice in GROUPS["data"] if choice != "synthetic"]


@pytest.mark.parametrize(("group", "choice"), [(g, c) for g, choices in GROUPS.items() for c in choices])
def test_every_config_composes_and_resolves(compose_train, tmp_path, group, choice):
    extra = ["data.root=/some/data"] if group == "data" and choice in REAL_DATA else []
    extra += ["model.net._target_=torch.nn.Identity", "model.input_size=40"] if (group, choice) == ("model", "custom") else []  # a user's own network
    extra += ["data.reader._target_=builtins.list"] if (group, choice) == ("data", "custom") else []  # a user's own reader
    cfg = compose_train(f"{group}={choice}", f"paths.output_dir={tmp_path}", *extra)
    container = OmegaConf.to_container(cfg, resolve=True)
    net = {key: value for key, value in container["model"]["net"].items() if key not in ("name", "pretrained", "weights")}
    if "_target_" in net:
        inputs = resolve_custom_data_config(net, container["model"]["input_size"], container["model"]["normalization"])
    else:
        inputs = resolve_data_config(container["model"]["net"]["name"], container["model"]["input_size"], container["model"]["normalization"], **net)
    assert container["data"]["input_size"] == inputs.input_size >= 8  # the network's own input side, resolved by the config
    assert inputs.normalization in ("unit", "imagenet", "inception", "clip", "timm")
    assert container["data"]["au_maps"] == ("all" if (container["model"].get("au_guidance") or {}).get("weight") else "eval")
    if group in ("logger", "callbacks") or (group, choice) == ("experiment", "paper"):
        group = "callbacks" if group == "experiment" else group
        objects = training._instantiate_group(cfg[group])
        assert len(objects) == len([v for v in (container[group] or {}).values() if v])
    if group == "trainer" and choice in ("default", "cpu"):
        assert hydra.utils.instantiate(cfg.trainer, logger=False).max_epochs == cfg.trainer.max_epochs


def test_the_config_derives_input_size_and_au_maps_and_an_override_wins(compose_train, tmp_path):
    """The job edits nothing: the data's input side and AU maps come from the composed config
    (``jobs.config_resolvers``), so ``.hydra/config.yaml`` and the logged hyperparameters say
    what was built, and an explicit override is kept."""
    resolved = lambda *overrides: OmegaConf.to_container(compose_train(f"paths.output_dir={tmp_path}", *overrides).data, resolve=True)  # noqa: E731
    assert (resolved()["input_size"], resolved()["source"]["image_size"], resolved()["au_maps"]) == (64, 64, "eval")
    assert resolved("model=weinet")["input_size"] == 64 and resolved("model=vgg16")["input_size"] == 224 and resolved("model=silnet")["input_size"] == 150
    assert resolved("model.input_size=48")["input_size"] == 48
    assert resolved("model.au_guidance.weight=9")["au_maps"] == "all"
    assert resolved("model.au_guidance.weight=9", "data.au_maps=eval")["au_maps"] == "eval"


def test_paper_experiment_sets_the_studys_saliency_choices(compose_train, tmp_path):
    cfg = compose_train("experiment=paper", f"paths.output_dir={tmp_path}")
    assert list(cfg.saliency) == ["lime"] and cfg.saliency.lime.num_samples == 1000 and cfg.saliency.lime.n_segments == 30
    assert cfg.callbacks.global_saliency.target == "predicted" and cfg.callbacks.global_saliency.per_class == 100
    assert cfg.model.normalization == "unit" and "model_checkpoint" in cfg.callbacks


def test_overrides_compose_as_documented(compose_train, tmp_path):
    cfg = compose_train("data.fold=2", "trainer.max_epochs=3", "logger=csv", f"paths.output_dir={tmp_path}")
    assert (cfg.data.fold, cfg.trainer.max_epochs) == (2, 3)
    assert cfg.logger.csv.save_dir == str(tmp_path)


def test_wandb_logger_is_offline_unless_wandb_mode_says_otherwise(compose_train, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert compose_train(f"paths.output_dir={tmp_path}").logger.wandb.mode == "offline"
    monkeypatch.setenv("WANDB_MODE", "online")
    cfg = compose_train(f"paths.output_dir={tmp_path}", "data.fold=3")
    assert cfg.logger.wandb.mode == "online"
    assert (cfg.logger.wandb.name, cfg.logger.wandb.group) == ("smallcnn-synthetic-fold3", "smallcnn-synthetic")


def test_cfg_job_prints_the_composed_config():
    result = run_train("--cfg", "job", "data.fold=4")
    assert result.returncode == 0, result.stderr
    printed = OmegaConf.create(result.stdout)
    assert printed.data.fold == 4 and printed.model.net.name == "smallcnn"


def test_fast_dev_run_with_wandb_offline(tmp_path):
    result = run_train("trainer.fast_dev_run=true", *SMALL_DATA, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test (final weights)" in result.stdout and "│ acc " in result.stdout and "output directory" in result.stdout
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 1
    assert (tmp_path / ".hydra" / "config.yaml").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=nonet"], "Error: model has no option 'nonet': choose from alexnet, custom, efficientnetv2b0,"),
        (["saliency=[gradcam,shap]"], "Error: saliency has no option 'shap': did you mean kernelshap, gradientshap?"),
        (["data=folder"], "The setting 'data.root' is required"),
        (["data=rafdb", "data.root=/no/such/folder"], "Dataset folder '/no/such/folder' does not exist: set data.root to the folder where rafdb was unpacked."),
        (["data=kdef", "data.root=/tmp", "data.nonsense=1"], "Error: data.nonsense is not a setting: the settings in data are _target_, root, neutral,"),
        (["data=kdef", "data.root=/tmp", "data.augmnt=true"], "Error: data.augmnt is not a setting: did you mean data.augment? (+data.augmnt=true"),
        (["model.net.name=vgg17"], "Unknown network 'vgg17': choose one of"),
        (["saliency=[]"], "GlobalSaliency has no saliency method: add one, e.g. saliency=[gradcampp], or drop the callback with callbacks=default."),
        (["model=custom"], "Error: model=custom needs your network's class: add model.net._target_=<package.module.Class> (its folder on PYTHONPATH)."),
        (["model=custom", "model.net._target_=my_lab.Net"], "Error: model.net._target_=my_lab.Net does not import (ModuleNotFoundError: No module named"),
        (["data=custom", "data.root=/tmp"], "Error: The setting 'data.reader._target_' is required: add data.reader._target_=<value> to the command line."),
    ],
)
def test_user_mistakes_end_in_one_sentence(tmp_path, overrides, message):
    result = run_train(*overrides, f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_help_lists_only_the_groups_train_composes_without_loading_torch():
    """``--help`` and ``--cfg job`` compose the config only: torch and Lightning, seconds
    to import, stay unloaded (benchmarks/bench_cli_start.py measures the time)."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['train.py', *sys.argv[1:]]\n"
        "try:\n    runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('loaded:', sorted(m for m in ('torch', 'lightning', 'timm') if m in sys.modules))"
    )
    for flags in (["--help"], ["--cfg", "job", "model=vgg16"]):
        result = subprocess.run([sys.executable, "-c", code, *flags], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and result.stdout.rstrip().endswith("loaded: []"), result.stdout[-500:] + result.stderr[-2000:]
    groups = subprocess.run([sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    listed = dict(line.split(": ", 1) for line in groups.split("== Config ==")[0].splitlines() if ": " in line and not line.startswith("ferlens"))
    assert list(listed) == ["data", "face", "trainer", "model", "logger", "callbacks", "saliency", "experiment"], groups
    assert "vgg16" in listed["model"] and "_real" not in listed["data"] and "resume=<run dir>|last" in groups


def test_empty_dataset_and_bad_init_checkpoint_are_one_sentence(compose_train, tmp_path):
    (tmp_path / "data" / "Fear").mkdir(parents=True)
    cfg = compose_train("data=folder", f"data.root={tmp_path / 'data'}", f"paths.output_dir={tmp_path}", "logger=none")
    with pytest.raises(Exception) as caught:
        training.run(cfg)
    message = user_message(caught.value)
    assert message.startswith(f"No labelled faces of the classes Anger, Disgust, Fear, Happiness, Sadness, Surprise under '{tmp_path / 'data'}'")
    assert "empty class folder Fear" in message and message.endswith("check data.root and the dataset layout.")
    cfg = compose_train(*SMALL_DATA, "init_from=/no/model.ckpt", f"paths.output_dir={tmp_path}", "logger=none")
    with pytest.raises(Exception) as caught:
        training.run(cfg)
    assert "init_from checkpoint '/no/model.ckpt' does not exist" in user_message(caught.value)
    assert user_message(ValueError("a bug")) is None


#: What a clean run printed besides its headline, data summary, progress bar and end summary
#: (issue 15): none of it may come back.
CONSOLE_NOISE = (
    "was configured so",  # Trainer(limit_train_batches=1.0) from our own trainer config
    "LeafSpec",  # Lightning 2.6 on torch 2.14
    "litlogger",  # Lightning's tip
    "anonymous setting",  # Lightning passes anonymous=None to wandb.init
    "log_every_n_steps",
    "Run history",  # wandb's 30-line panel
    "Run summary",
    "Test metric",  # Lightning's test table, a second copy of the results
    "GPU available",  # Lightning's information lines: train.log only
    "INFO:",
    "Traceback",
)


@pytest.mark.slow
def test_default_run_reaches_90_percent_prints_only_what_matters_and_logs_it(tmp_path):
    """The README's `python train.py` (W&B offline, output piped): trains, explains the best
    checkpoint with Grad-CAM++, prints the headline, data summary, progress and the end
    summary (IoU table against both mask families, where the heatmaps and the W&B run are)
    and nothing else; train.log holds the same, per-epoch metrics included."""
    result = run_train(f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    best = next((tmp_path / "checkpoints").glob("epoch*.ckpt"))
    artifact = read_artifact(tmp_path / "heatmaps" / "gradcampp")
    metrics = json.loads((tmp_path / "completed.json").read_text())["metrics"]
    assert artifact.manifest.weights.val_acc >= 0.90 and metrics["test/acc"] >= 0.85
    assert artifact.manifest.weights.checkpoint == str(best.resolve()) and artifact.manifest.saliency.method == "gradcampp"
    assert min(artifact.manifest.counts.values()) >= 40 and artifact.heatmaps.min() >= 0 and artifact.heatmaps.max() > 0
    scores = score_artifact(tmp_path / "heatmaps" / "gradcampp")
    out, console = result.stdout, result.stdout + result.stderr
    assert [noise for noise in CONSOLE_NOISE if noise in console] == []
    assert out.startswith("ferlens: smallcnn (242 K parameters, 64 px, unit) on synthetic fold 1/5; 12 epochs, batch 64; seed 42; heatmaps: gradcampp")
    assert "subject-independent fold 1/5" in out and out.count("test/acc") == 0 and out.count("│ acc ") == 1  # the results, once
    assert f"gradcampp heatmaps of the best checkpoint (epoch {artifact.manifest.weights.epoch + 1}" in out
    # explained: the held-out test split, which chose nothing (the study's protocol), and the summary says so
    assert artifact.manifest.selection.split == "test" and ") on the test split" in out
    assert len(artifact.evidence) == sum(artifact.manifest.counts.values()) and set(artifact.manifest.correct_share) == set(artifact.classes)
    faithfulness = artifact.manifest.faithfulness.overall  # on by default: deletion / insertion and ROAD of every explained image
    assert faithfulness["counts"] == sum(artifact.manifest.counts.values()) and 0 <= faithfulness["deletion_auc"] < faithfulness["insertion_auc"] <= 1
    assert "IoU Ekman" in out and "IoU AU" in out and "mass in Ekman" in out
    for name, row in scores.iterrows():  # one printed row per class: images, IoU Ekman, IoU AU, ...
        assert f"{name} " in out and f"{row['ekman_iou']:.3f}" in out and f"{row['au_iou']:.3f}" in out
    figure = tmp_path / "heatmaps" / "gradcampp" / "overview.png"
    images = sum(artifact.manifest.counts.values())
    assert f"gradcampp heatmaps ({images} images of the test split): {tmp_path / 'heatmaps' / 'gradcampp'}\n" in out and f"gradcampp figure: {figure}\n" in out
    assert figure.stat().st_size > 20_000
    wandb_run = next((tmp_path / "wandb").glob("offline-run-*"))
    assert f"W&B run: {wandb_run} (offline: upload it with `wandb sync <that directory>`)" in out  # the directory wandb sync takes
    log = (tmp_path / "train.log").read_text()
    epochs = re.findall(r"epoch (\d+)/12: train/loss [\d.]+, train/acc [\d.]+, val/loss [\d.]+, val/acc ([\d.]+)", log)
    assert [int(epoch) for epoch, _ in epochs] == list(range(1, 13))
    assert max(float(acc) for _, acc in epochs) == pytest.approx(metrics["best_val_acc"], abs=1e-4)
    assert "ferlens: smallcnn (242 K parameters" in log and "subject-independent fold 1/5" in log and "GPU available" in log
    assert "global gradcampp heatmaps of the best checkpoint (counts" in log
    assert "run summary" in log and f"gradcampp heatmaps ({images} images of the test split)" in log and "IoU Ekman" in log


def _logged_metrics(run_dir: Path) -> dict[str, float]:
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    merged: dict[str, float] = {}
    for row in rows:
        merged.update({k: float(v) for k, v in row.items() if v and k.startswith(("val/", "test/"))})
    return merged


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    splits = fold_indices(SyntheticFaces(117, 13, 16).subjects, 2, 4, 0)
    assert len(splits["val"]) % 2 == 1 and len(splits["test"]) % 2 == 1  # uneven across 2 ranks
    base = [*SMALL_DATA, "data.fold=2", "logger=csv"]
    first = run_train(*base, "trainer.max_epochs=2", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'fit'}")
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoint = next((tmp_path / "fit" / "checkpoints").glob("epoch*.ckpt"))
    evaluate = [*base, "train=false", f"init_from={checkpoint}", "callbacks=none"]
    one = run_train(*evaluate, f"hydra.run.dir={tmp_path / 'one'}")
    two = run_train(*evaluate, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", f"hydra.run.dir={tmp_path / 'two'}")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    single, double = _logged_metrics(tmp_path / "one"), _logged_metrics(tmp_path / "two")
    assert set(single) == set(double) and "val/recall/Surprise" in single and "test/f1" in single
    assert {"val/att_cos", "val/att_cos/Anger", "val/cam_cos", "val/cam_iou", "test/att_iou", "test/cam_cos/Surprise"} <= set(single)  # Study 2's AU scores
    for key in single:
        assert double[key] == pytest.approx(single[key], abs=1e-6), key


@pytest.mark.slow
def test_ddp_multirun_gives_one_directory_and_one_wandb_run_per_job(tmp_path):
    result = run_train(
        "-m", *SMALL_DATA, "data.fold=1,2", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.max_epochs=1", "callbacks.progress_bar=null", f"hydra.sweep.dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert jobs == ["0-smallcnn-fold1", "1-smallcnn-fold2"]  # named by job; no stray directories from the rank-1 processes
    for job in jobs:
        runs = list((tmp_path / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, runs
        assert list(runs[0].glob("files/media/images/val/confusion_*.png"))  # the confusion matrix figure
        assert list(runs[0].glob("files/media/table/val/confusion_table_*.table.json"))
        assert len(list((tmp_path / job / "checkpoints").glob("epoch*.ckpt"))) == 1
        assert read_artifact(tmp_path / job / "heatmaps" / "gradcampp").manifest.weights.source == "best checkpoint"  # after fit, under DDP
    assert not (tmp_path / "logs").exists()


def test_au_guided_experiment_is_study_2s_recipe_and_its_ablation_grid_builds(compose_train, tmp_path):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = compose_train("experiment=au_guided", "model.net.pretrained=false", f"paths.output_dir={tmp_path}")
    assert cfg.model.net.name == "resnet50" and cfg.model.net.output_stride == 8 and cfg.model.normalization == "imagenet"
    optimizer = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.002, "momentum": 0.9, "nesterov": True, "weight_decay": 5.0e-4, "eps": None}
    assert OmegaConf.to_container(cfg.model.optimizer) == optimizer
    assert OmegaConf.to_container(cfg.model.scheduler) == {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 4, "gamma": 0.9}
    assert cfg.model.au_guidance.weight == 9.0 and cfg.trainer.max_epochs == 20 and cfg.data.batch_size == 224 and cfg.data.augment
    params = OmegaConf.load(CONFIGS / "experiment" / "au_guided_paper_ablation.yaml").hydra.sweeper.params  # what -m sweeps
    sweeps = {o.key_or_group: list(o.sweep_iterator()) for o in OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])}
    assert sweeps["model.au_guidance.weight"] == [0, 1, 3, 6, 9, 12]
    assert len(sweeps["model.au_guidance.layers"]) == 4
    for layers in sweeps["model.au_guidance.layers"]:
        chosen = f"model.au_guidance.layers=[{','.join(layers)}]"
        cfg = compose_train("experiment=au_guided", "model.net.pretrained=false", chosen, f"paths.output_dir={tmp_path}")
        module = hydra.utils.instantiate(cfg.model, num_classes=6, class_names=["A", "B", "C", "D", "E", "F"], input_size=64, _convert_="all")
        assert module.au_guidance.layer_names(module.net) == list(layers)


def test_a_gpu_accelerator_without_a_gpu_is_one_sentence(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for accelerator in ("gpu", "cuda"):
        with pytest.raises(UserError) as refused:
            training.check_accelerator(accelerator)
        assert str(refused.value).startswith(f"trainer.accelerator={accelerator} but torch finds no ")
        assert str(refused.value).endswith("use trainer=cpu (or trainer.accelerator=auto), or check the GPU drivers and that torch is a CUDA build.")
    training.check_accelerator("cpu")
    training.check_accelerator("auto")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU: trainer.accelerator=gpu is valid here")
def test_a_failed_run_says_one_sentence_and_leaves_no_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    result = run_train("trainer.accelerator=gpu", "logger=none", f"hydra.run.dir={run_dir}")
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("Error: trainer.accelerator=gpu but torch finds no GPU on this machine: use trainer=cpu")
    assert not run_dir.exists()


@pytest.mark.slow
def test_fast_dev_run_is_a_marked_debug_run_of_a_handful_of_images(compose_train, tmp_path, caplog):
    from ferlens.analysis.sources import Filters
    from ferlens.analysis.sources.local import collect_local
    from ferlens.jobs.run_directory import is_debug_artifact

    run_dir = tmp_path / "runs" / "debug"
    cfg = compose_train(*SMALL_DATA, "trainer.fast_dev_run=true", "logger=none", f"paths.output_dir={run_dir}")
    with caplog.at_level("INFO"):
        training.run(cfg)
    headline = next(message for message in caplog.messages if message.startswith("ferlens: "))
    assert "DEBUG RUN (trainer.fast_dev_run: 1 batch per split, heatmaps of 1 image per class, marked so that analyze.py leaves them out)" in headline
    announced = [message for message in caplog.messages if message.startswith("heatmaps gradcampp (method 1 of 1): ")]
    assert len(announced) == 1 and " s per image on the first batch, about " in announced[0]
    artifact = run_dir / "heatmaps" / "gradcampp"
    manifest = read_artifact(artifact).manifest
    assert is_debug_artifact(artifact) and manifest.selection.per_class == 1 and 1 <= sum(manifest.counts.values()) <= 6
    assert collect_local([tmp_path / "runs"], Filters()).sets == []  # analyze.py leaves it out
