import functools
import math

import hydra
import pytest
import torch
from omegaconf import OmegaConf

from ferlens.lightning_modules.fer_module import FERModule
from ferlens.networks.registry import UnknownNetworkError, available_networks, build_network
from ferlens.user_errors import UserError
from tests.conftest import CONFIGS

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]

# Keras's defaults, which the study trained with: Adam beta_1 0.9, beta_2 0.999, epsilon 1e-7;
# RMSprop rho 0.9 (torch's alpha), momentum 0, epsilon 1e-7, not centered
KERAS_ADAM = {"betas": (0.9, 0.999), "eps": 1e-7}
KERAS_RMSPROP = {"alpha": 0.9, "eps": 1e-7, "momentum": 0, "centered": False}
COSINE = "torch.optim.lr_scheduler.CosineAnnealingLR"
# model=<name>: optimizer class, its settings as the config writes them, what the optimizer
# then holds, the scheduler's config, epochs, batch size (None: the data config's)
MODEL_CONFIGS = {
    "alexnet": ("RMSprop", {"lr": 1e-4, "alpha": 0.9, "eps": 1e-7}, {"lr": 1e-4, **KERAS_RMSPROP}, None, 10, 128),
    "weinet": ("RMSprop", {"lr": 1e-4, "alpha": 0.9, "eps": 1e-7}, {"lr": 1e-4, **KERAS_RMSPROP}, None, 10, 128),
    "songnet": ("RMSprop", {"lr": 1e-4, "alpha": 0.9, "eps": 1e-7}, {"lr": 1e-4, **KERAS_RMSPROP}, None, 25, 128),
    "silnet": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 10, 128),
    "vgg16": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "vgg19": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "resnet50": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "resnet101v2": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "inceptionv3": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "xception": ("Adam", {"lr": 1e-4, "eps": 1e-7}, {"lr": 1e-4, **KERAS_ADAM}, None, 2, 128),
    "mobilenetv3large": ("Adam", {"lr": 1e-6, "eps": 1e-7}, {"lr": 1e-6, **KERAS_ADAM}, None, 15, 128),
    "efficientnetv2b0": ("Adam", {"lr": 1e-6, "eps": 1e-7}, {"lr": 1e-6, **KERAS_ADAM}, None, 10, 128),
    "smallcnn": ("Adam", {"lr": 1e-3}, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}, {"_target_": COSINE, "_partial_": True, "T_max": 12}, 12, None),
    "custom": ("Adam", {"lr": 1e-3}, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}, None, 12, None),
    "timm": ("AdamW", {"lr": 1e-4, "weight_decay": 0.05}, {"lr": 1e-4, "weight_decay": 0.05}, {"_target_": COSINE, "_partial_": True, "T_max": 10}, 10, None),
}


def _module(**kwargs) -> FERModule:
    return FERModule(net={"name": "smallcnn", "pretrained": False, "weights": None}, num_classes=6, class_names=CLASSES, **kwargs)


def test_metrics_on_a_hand_computed_batch():
    module = _module()
    labels = torch.tensor([0, 0, 1, 1, 2, 3, 4, 5])
    predictions = torch.tensor([0, 1, 1, 1, 2, 3, 5, 5])
    logits = 5.0 * torch.nn.functional.one_hot(predictions, 6).float()
    module.update_metrics("val", logits[:5], labels[:5])  # two batches accumulate
    module.update_metrics("val", logits[5:], labels[5:])
    values = module.compute_metrics("val")
    assert values["acc"].item() == pytest.approx(6 / 8)
    recalls = [values[f"recall/{c}"].item() for c in CLASSES]
    assert recalls == pytest.approx([0.5, 1.0, 1.0, 1.0, 0.0, 1.0])
    # per-class F1 from precision (1, 2/3, 1, 1, 0, 1/2) and recall above, then unweighted mean
    assert values["f1"].item() == pytest.approx((2 / 3 + 0.8 + 1 + 1 + 0 + 2 / 3) / 6, abs=1e-6)
    right, wrong = -math.log(math.exp(5) / (math.exp(5) + 5)), -math.log(1 / (math.exp(5) + 5))
    assert values["loss"].item() == pytest.approx((6 * right + 2 * wrong) / 8, rel=1e-5)
    expected = torch.zeros(6, 6, dtype=torch.long)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        expected[t, p] += 1
    assert torch.equal(values["confusion"].cpu(), expected)


def test_class_weights_and_label_smoothing_change_the_loss_as_documented():
    module = _module(class_weights=[1, 2, 1, 1, 1, 1], label_smoothing=0.1)
    module.setup("fit")
    logits = torch.randn(4, 6)
    labels = torch.tensor([1, 1, 0, 3])
    loss = module.update_metrics("train", logits, labels)
    per_sample = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor([1.0, 2, 1, 1, 1, 1]), label_smoothing=0.1, reduction="none")
    assert loss.item() == pytest.approx(per_sample.mean().item(), rel=1e-6)


def _partial(config: dict) -> functools.partial:
    return hydra.utils.instantiate(OmegaConf.create({"_partial_": True, **config}))


def test_optimizer_and_scheduler_are_the_partials_of_the_config():
    module = _module(optimizer=_partial({"_target_": "torch.optim.RMSprop", "lr": 1e-4}), scheduler=None)
    optimizer = module.configure_optimizers()
    assert isinstance(optimizer, torch.optim.RMSprop) and optimizer.param_groups[0]["params"] == list(module.parameters())
    switched = _module(optimizer=_partial({"_target_": "torch.optim.Adam", "lr": 1e-4, "alpha": None})).configure_optimizers()  # RMSprop's alpha dropped
    assert isinstance(switched, torch.optim.Adam) and switched.defaults["lr"] == 1e-4
    assert isinstance(_module().configure_optimizers(), torch.optim.Adam) and _module().configure_optimizers().defaults["lr"] == 1e-3  # none given
    step = _partial({"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 4, "gamma": 0.9})
    configured = _module(optimizer=_partial({"_target_": "torch.optim.SGD", "lr": 0.1}), scheduler=step).configure_optimizers()
    sgd, scheduler = configured["optimizer"], configured["lr_scheduler"]
    assert isinstance(sgd, torch.optim.SGD) and scheduler.optimizer is sgd
    assert (type(scheduler), scheduler.step_size, scheduler.gamma) == (torch.optim.lr_scheduler.StepLR, 4, 0.9)
    plateau = _module(scheduler=_partial({"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "mode": "max", "patience": 2})).configure_optimizers()
    assert isinstance(plateau["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau) and plateau["lr_scheduler"]["monitor"] == "val/acc"
    with pytest.raises(UserError, match="model.optimizer must be a Hydra partial config such as"):
        _module(optimizer={"name": "Adam", "lr": 1}).configure_optimizers()  # the shape before the partials


def test_every_model_config_covers_the_table():
    assert sorted(MODEL_CONFIGS) == sorted(path.stem for path in (CONFIGS / "model").glob("*.yaml") if not path.stem.startswith("_"))


@pytest.mark.parametrize("name", MODEL_CONFIGS)
def test_each_model_config_builds_the_studys_optimizer_with_the_keras_constants(name, compose_train):
    kind, settings, held, scheduler, epochs, batch = MODEL_CONFIGS[name]
    cfg = compose_train(f"model={name}", *(["model.net._target_=torch.nn.Identity"] if name == "custom" else []))
    assert OmegaConf.to_container(cfg.model.optimizer) == {"_target_": f"torch.optim.{kind}", "_partial_": True, **settings}
    assert (cfg.model.scheduler and OmegaConf.to_container(cfg.model.scheduler, resolve=True)) == scheduler
    assert cfg.model.net.get("name") == name or name in ("timm", "custom")
    assert cfg.trainer.max_epochs == epochs and (batch is None or cfg.data.batch_size == batch)
    module = _module(optimizer=hydra.utils.instantiate(cfg.model.optimizer), scheduler=hydra.utils.instantiate(cfg.model.scheduler))
    configured = module.configure_optimizers()
    optimizer = configured if scheduler is None else configured["optimizer"]
    assert type(optimizer) is getattr(torch.optim, kind)
    assert {key: optimizer.defaults[key] for key in held} == held
    if scheduler is not None:
        assert type(configured["lr_scheduler"]) is torch.optim.lr_scheduler.CosineAnnealingLR and configured["lr_scheduler"].T_max == epochs


def test_the_experiments_switch_optimizers_with_null_keywords(compose_train):
    cfg = compose_train("experiment=au_guided")  # Study 2's recipe over model=resnet50's Adam: its eps dropped
    configured = _module(optimizer=hydra.utils.instantiate(cfg.model.optimizer), scheduler=hydra.utils.instantiate(cfg.model.scheduler)).configure_optimizers()
    sgd, step = configured["optimizer"], configured["lr_scheduler"]
    assert type(sgd) is torch.optim.SGD  # SGD takes no eps: passed on, it would raise
    recipe = {"lr": 0.002, "momentum": 0.9, "nesterov": True, "weight_decay": 5.0e-4}
    assert {key: sgd.defaults[key] for key in recipe} == recipe
    assert (type(step), step.step_size, step.gamma) == (torch.optim.lr_scheduler.StepLR, 4, 0.9)
    cfg = compose_train("experiment=known_truth")  # Adam over model=weinet's RMSprop: its alpha dropped
    adam = _module(optimizer=hydra.utils.instantiate(cfg.model.optimizer), scheduler=hydra.utils.instantiate(cfg.model.scheduler)).configure_optimizers()
    assert type(adam) is torch.optim.Adam and {key: adam.defaults[key] for key in ("lr", "betas", "eps")} == {"lr": 1e-4, **KERAS_ADAM}


def test_registry_builds_smallcnn_and_names_the_choices_for_unknown_names():
    net = build_network("smallcnn", num_classes=7)
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 7)
    assert "smallcnn" in available_networks()
    with pytest.raises(UnknownNetworkError, match="Unknown network 'vgg17': choose one of .*smallcnn"):
        build_network("vgg17", 6)


def test_checkpoint_round_trip_without_arguments(tmp_path):
    import lightning as L

    module = _module()
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=0)
    trainer.strategy.connect(module)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    restored = FERModule.load_from_checkpoint(path)
    module.eval(), restored.eval()
    x = torch.rand(3, 3, 64, 64)
    assert torch.equal(module(x), restored(x))


def test_the_resolved_input_and_the_initial_weights_are_recorded():
    module = _module()
    assert (module.hparams.input_size, module.hparams.normalization) == (64, "unit")  # None in, the network's own recorded
    assert module.hparams.net_init == {"name": "smallcnn", "pretrained": False, "weights": None}
    wrapped = FERModule(net=build_network("smallcnn", 6, input_size=96, normalization="imagenet"), num_classes=6, class_names=CLASSES)
    assert (wrapped.hparams.input_size, wrapped.hparams.normalization) == (96, "imagenet") and "net" not in wrapped.hparams


class _FakeHub:
    """Stands in for the timm/Hugging Face hub: ``pretrained=True`` fills the model with fixed
    'ImageNet' weights (seeded), unless the hub is blocked."""

    def __init__(self, create_model) -> None:
        self.create_model, self.blocked, self.downloads = create_model, False, 0

    def __call__(self, name: str, pretrained: bool = False, **kwargs) -> torch.nn.Module:
        if pretrained and self.blocked:
            raise ConnectionError("hub unreachable")
        model = self.create_model(name, pretrained=False, **kwargs)
        if pretrained:
            self.downloads += 1
            generator = torch.Generator().manual_seed(123)
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.copy_(0.05 * torch.randn(parameter.shape, generator=generator))
        return model


def _fit_one_step(module: FERModule, directory, size: int) -> str:
    """One training step (batch of 4 images of ``size`` pixels) with a ModelCheckpoint; the checkpoint's path."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    generator = torch.Generator().manual_seed(0)
    samples = torch.utils.data.StackDataset(image=torch.rand(4, 3, size, size, generator=generator), label=torch.tensor([0, 1, 2, 3]))
    checkpoint = ModelCheckpoint(dirpath=directory)
    trainer = L.Trainer(
        max_epochs=1, limit_val_batches=0, logger=False, callbacks=[checkpoint], enable_progress_bar=False, enable_model_summary=False, accelerator="cpu"
    )
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(samples, batch_size=4))
    return checkpoint.best_model_path


@pytest.mark.parametrize("start", ["hub", "weights file"])
def test_a_checkpoint_of_a_pretrained_backbone_reloads_offline_without_its_weights_file(tmp_path, monkeypatch, start):
    import timm

    from ferlens.networks import timm_backbones
    from ferlens.networks.timm_backbones import STUDY_BACKBONES

    hub = _FakeHub(timm.create_model)
    monkeypatch.setattr(timm, "create_model", hub)
    monkeypatch.setattr(timm_backbones, "hub_unreachable_reason", lambda: None)  # the fake hub answers
    net = {"name": "mobilenetv3large", "pretrained": True, "weights": None}
    if start == "weights file":
        net["weights"] = str(tmp_path / "imagenet.pth")
        torch.save(hub(STUDY_BACKBONES["mobilenetv3large"], pretrained=True, num_classes=1000).state_dict(), net["weights"])
    module = FERModule(net=net, num_classes=6, class_names=CLASSES, input_size=32, optimizer=functools.partial(torch.optim.Adam, lr=1e-3))
    assert hub.downloads == 1  # either the 'download' or the file's weights, both from the fake hub
    path = _fit_one_step(module, tmp_path / "checkpoints", 32)

    hub.blocked = True
    if start == "weights file":
        (tmp_path / "imagenet.pth").unlink()
    restored = FERModule.load_from_checkpoint(path, weights_only=True)
    assert restored.hparams.net == {"name": "mobilenetv3large", "pretrained": False, "weights": None}  # the architecture only
    assert restored.hparams.net_init == net and module.hparams.net == net  # how training began; the live module unchanged
    assert (restored.hparams.input_size, restored.hparams.normalization) == (32, "unit")
    module.eval(), restored.eval()
    images = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(module(images), restored(images))


def test_a_trained_checkpoint_loads_safely_as_a_weights_file(tmp_path):
    module = _module(optimizer=functools.partial(torch.optim.Adam, lr=1e-2))
    before = {k: v.clone() for k, v in module.net.state_dict().items()}
    path = _fit_one_step(module, tmp_path, 64)  # holds optimizer and callback states besides the weights
    assert torch.load(path, map_location="cpu", weights_only=True)["hyper_parameters"]["net_init"]["name"] == "smallcnn"
    loaded = build_network("smallcnn", 6, weights=path).state_dict()
    trained = module.net.state_dict()
    assert loaded.keys() == trained.keys() and all(torch.equal(loaded[k], trained[k]) for k in trained)
    assert not torch.equal(trained["features.conv1.weight"], before["features.conv1.weight"])  # the trained weights, not the initial ones


def test_a_checkpoint_of_the_config_partials_loads_with_weights_only_and_resumes(tmp_path, compose_train):
    cfg = compose_train("model=smallcnn", "trainer.max_epochs=1")  # Adam + cosine, as Hydra instantiates them
    optimizer, scheduler = hydra.utils.instantiate(cfg.model.optimizer), hydra.utils.instantiate(cfg.model.scheduler)
    assert isinstance(optimizer, functools.partial) and isinstance(scheduler, functools.partial)
    path = _fit_one_step(_module(optimizer=optimizer, scheduler=scheduler), tmp_path, 64)  # a 1-epoch run
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # no functools.partial pickled in
    assert not {"optimizer", "scheduler"} & set(checkpoint["hyper_parameters"]) and checkpoint["hyper_parameters"]["net"]["name"] == "smallcnn"
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == 0.0 and checkpoint["lr_schedulers"][0]["T_max"] == 1  # the cosine's end
    assert FERModule.load_from_checkpoint(path, weights_only=True).hparams.net["name"] == "smallcnn"

    import lightning as L

    resumed = _module(optimizer=optimizer, scheduler=scheduler)
    trainer = L.Trainer(max_epochs=2, limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    samples = torch.utils.data.StackDataset(image=torch.rand(4, 3, 64, 64), label=torch.tensor([0, 1, 2, 3]))
    trainer.fit(resumed, train_dataloaders=torch.utils.data.DataLoader(samples, batch_size=4), ckpt_path=path)  # Lightning restores both states
    assert trainer.current_epoch == 2 and trainer.lr_scheduler_configs[0].scheduler.last_epoch == 2
