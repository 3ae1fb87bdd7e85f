"""FERModule: trains any classifier on the sample dicts of FERDataModule."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import WandbLogger
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score, MulticlassRecall

from ferlens.lightning_modules.au_guidance import AUGuidance, layer_attention
from ferlens.lightning_modules.au_metrics import AUAlignmentScore
from ferlens.lightning_modules.reporting import confusion_figure
from ferlens.networks.custom import NetworkSpec, build_custom_network
from ferlens.networks.features import capture_features
from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.saliency.cam import upsample
from ferlens.user_errors import UserError

STAGES = ("train", "val", "test")


class FERModule(L.LightningModule):
    """Cross-entropy training of a FER network, with torchmetrics per stage.

    Args:
        net: ``{"name": <registry name or timm id>, "pretrained": bool, "weights": path | None,
            **settings}`` (recorded, so checkpoints reload with no arguments), a user's own network
            ``{"_target_": "my_lab.nets.Net", "cam_layer": ..., **constructor arguments}`` or Hydra's
            partial of it (``networks.custom``: built with ``num_classes``, wrapped and checked), or
            any ``nn.Module`` taking raw RGB in [0, 1] (used as it is).
        num_classes, class_names: the dataset's classes, in label order.
        input_size: network input side, pixels; normalization: a name of
            ``networks.data_config.NORMALIZATIONS`` or ``timm``; None = the network's own.
            Recorded as resolved (``net.data_config``), for explanation and analysis.
        optimizer: the optimizer without its parameters, called as ``optimizer(params=...)``:
            a Hydra ``_partial_`` config (``{_target_: torch.optim.Adam, _partial_: true, lr:
            1e-3}``) or any such callable; None = Adam, lr 1e-3. A keyword of a
            ``functools.partial`` that is None is dropped (so a config file, which cannot
            delete a key, can switch optimizers: RMSprop's ``alpha: null`` for Adam).
        scheduler: None (a constant learning rate) or the scheduler without its optimizer,
            called as ``scheduler(optimizer=...)`` (e.g. ``{_target_:
            torch.optim.lr_scheduler.CosineAnnealingLR, _partial_: true, T_max:
            ${trainer.max_epochs}}``), stepped every epoch; a ``ReduceLROnPlateau`` follows
            ``val/acc`` (give it ``mode: max``). None keywords are dropped as for ``optimizer``.
            Neither is recorded in the hyperparameters (a checkpoint holds plain data only,
            for ``torch.load(weights_only=True)``; the run's config records them).
        class_weights: None, ``"balanced"`` (inverse training frequency) or a list of C floats.
        label_smoothing: cross-entropy label smoothing in [0, 1).
        au_metrics: Study 2's ATT-COS / CAM-COS (``au_metrics.AUAlignmentScore``) on the
            validation and test batches that carry AU maps: ``{"cam": explainer name
            (gradcampp, gradcam, layercam) or None for none, "cam_every_n_epochs": n
            (validation; test always), "cam_max_images": m (the first m images of the
            split, whatever the ranks)}``.
        au_guidance: ``{"weight", "layers", "warmup_epochs"}`` of Study 2's AU-alignment
            term (``au_guidance.AUGuidance``); weight 0 (default) trains with plain
            cross-entropy. Needs ``au_map`` / ``au_valid`` in the training batches.
        net_init: how the network's weights were initialised when training began (``net`` as
            given: ``pretrained``, ``weights``); recorded only. Checkpoints store ``net`` with
            ``pretrained: false, weights: null``, so reloading rebuilds the architecture without a
            download or the original weights file, then loads the trained weights.
    """

    def __init__(
        self,
        net: dict[str, Any] | functools.partial | nn.Module,
        num_classes: int,
        class_names: list[str],
        input_size: int | None = None,
        normalization: str | None = None,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        class_weights: str | list[float] | None = None,
        label_smoothing: float = 0.0,
        au_guidance: dict[str, Any] | None = None,
        au_metrics: dict[str, Any] | None = None,
        net_init: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(net, nn.Module):
            self.net = net
        elif isinstance(net, functools.partial) or "_target_" in net:  # a user's own network (networks.custom)
            net = NetworkSpec.from_config(net).to_config()  # plain data, recorded
            self.net = build_custom_network(net, num_classes, class_names, input_size, normalization)
            net_init = dict(net_init or net)
        else:
            self.net = build_network(num_classes=num_classes, input_size=input_size, normalization=normalization, **net)
            net_init = dict(net_init or net)
        data_config = getattr(self.net, "data_config", None)
        if data_config is not None:
            input_size, normalization = data_config.input_size, data_config.normalization
        # records the arguments' current values: the resolved input, how the weights began;
        # not the optimizer and scheduler partials (functools.partial objects would be pickled
        # into every checkpoint, which torch.load(weights_only=True) then refuses)
        self.save_hyperparameters(ignore=["optimizer", "scheduler", *(["net"] if isinstance(net, nn.Module) else [])])
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.class_names = list(class_names)
        self.au_guidance = AUGuidance(**(au_guidance or {}))
        #: the checkpoint whose weights train.py's init_from loaded, and the (0-based) epoch it
        #: ended (recorded in heatmap manifests)
        self.initial_checkpoint: str | None = None
        self.initial_epoch: int | None = None
        if self.au_guidance.enabled:
            self.au_guidance.layer_names(self.net)  # unknown layers: one sentence now, not mid-training
        self.train_au_alignment = MeanMetric()
        settings = {"cam": "gradcampp", "cam_every_n_epochs": 1, "cam_max_images": 256, **(au_metrics or {})}
        self.cam_explainer = build_explainer(settings["cam"]) if settings["cam"] else None
        self.cam_every_n_epochs = max(1, int(settings["cam_every_n_epochs"]))
        self.cam_max_images = int(settings["cam_max_images"])
        self.au_scores = nn.ModuleDict({f"{stage}_{kind}": AUAlignmentScore(self.class_names) for stage in ("val", "test") for kind in ("att", "cam")})
        self.register_buffer("class_weight", torch.ones(num_classes), persistent=False)
        self.metrics = nn.ModuleDict({f"{stage}_metrics": self._stage_metrics(num_classes) for stage in STAGES})

    @staticmethod
    def _stage_metrics(num_classes: int) -> MetricCollection:
        return MetricCollection(
            {
                "acc": MulticlassAccuracy(num_classes, average="micro"),
                "f1": MulticlassF1Score(num_classes, average="macro"),
                "recall": MulticlassRecall(num_classes, average="none"),
                "confusion": MulticlassConfusionMatrix(num_classes),
                "loss": MeanMetric(),
            },
            compute_groups=False,
        )

    def setup(self, stage: str) -> None:
        weights = self.hparams.class_weights
        if weights == "balanced":
            counts = self.trainer.datamodule.train_class_counts().float().clamp(min=1)
            self.class_weight = (counts.sum() / (len(counts) * counts)).to(self.device)
        elif weights is not None:
            self.class_weight = torch.as_tensor(list(weights), dtype=torch.float32, device=self.device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 3, S, S] -> logits [B, C]."""
        return self.net(images)

    def update_metrics(self, stage: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Add a batch to the stage's metrics; returns the mean cross-entropy of the batch."""
        losses = F.cross_entropy(logits, labels, weight=self.class_weight, label_smoothing=self.hparams.label_smoothing, reduction="none")
        metrics = self.metrics[f"{stage}_metrics"]
        for name, metric in metrics.items():
            if name == "loss":
                metric.update(losses.detach())
            else:
                metric.update(logits.detach(), labels)
        return losses.mean()

    def compute_metrics(self, stage: str) -> dict[str, torch.Tensor]:
        """Stage metrics over everything seen since the last reset (synced across ranks):
        ``acc``, ``f1``, ``loss``, ``recall/<Class>`` scalars and ``confusion`` [C, C]
        (rows = true class, columns = prediction)."""
        values = self.metrics[f"{stage}_metrics"].compute()
        out = {name: values[name] for name in ("acc", "f1", "loss")}
        out.update({f"recall/{name}": r for name, r in zip(self.class_names, values["recall"], strict=True)})
        out["confusion"] = values["confusion"]
        return out

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        size = len(batch["label"])
        if not self.au_guidance.enabled:
            loss = self.update_metrics("train", self(batch["image"]), batch["label"])
            self.log("train/loss_step", loss, prog_bar=True, batch_size=size)
            return loss
        if "au_map" not in batch:
            raise UserError("model.au_guidance.weight > 0 needs AU maps in the training batches: set data.au_maps=all (train.py does so itself).")
        with self.au_guidance.capture(self.net) as captured:
            logits = self(batch["image"])
        cross_entropy = self.update_metrics("train", logits, batch["label"])
        alignment = self.au_guidance.loss(self.net, captured, batch["au_map"], batch["au_valid"], batch["image"].shape[-2:])
        loss = cross_entropy + self.au_guidance.weight_at(self.current_epoch) * alignment
        self.log("train/loss_step", loss, prog_bar=True, batch_size=size)
        valid = int(batch["au_valid"].sum())
        if valid:  # the epoch mean over valid samples (a sum over ranks, each sample once)
            self.train_au_alignment.update(alignment.detach(), weight=valid)
            self.log("train/au_alignment", self.train_au_alignment, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> dict[str, torch.Tensor]:
        """Returns the logits, for callbacks (GlobalSaliency selects by prediction)."""
        return {"logits": self._evaluation_step("val", batch)}

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluation_step("test", batch)

    def _evaluation_step(self, stage: str, batch: dict) -> torch.Tensor:
        """Classification metrics, and the AU scores when the batch carries AU maps."""
        scored = "au_map" in batch and hasattr(self.net, "cam_layer")
        with capture_features(self.net) if scored else contextlib.nullcontext({}) as captured:
            logits = self(batch["image"])
        self.update_metrics(stage, logits, batch["label"])
        if scored:
            self._update_au_scores(stage, batch, captured["features"])
        return logits.detach()

    def _update_au_scores(self, stage: str, batch: dict, features: torch.Tensor) -> None:
        """ATT-COS from the ``cam_layer`` output of this forward pass; CAM-COS from a CAM of
        the true class (a backward pass of its own, under ``enable_grad``: the training graph
        and the parameters' gradients are not touched) on the first ``cam_max_images`` of the split."""
        images, labels, au_maps, valid = batch["image"], batch["label"], batch["au_map"], batch["au_valid"]
        attention = upsample(layer_attention(features.detach(), self.net, images.shape[-2:]), images.shape[-2:])
        self.au_scores[f"{stage}_att"].update(attention, au_maps, valid, labels)
        due = stage == "test" or self.current_epoch % self.cam_every_n_epochs == 0
        chosen = valid & (batch["position"] < self.cam_max_images)
        if self.cam_explainer is not None and due and bool(chosen.any()):
            cams = self.cam_explainer(self.net, images[chosen], labels[chosen])
            self.au_scores[f"{stage}_cam"].update(cams, au_maps[chosen], torch.ones_like(labels[chosen], dtype=torch.bool), labels[chosen])

    def _log_au_scores(self, stage: str) -> None:
        """Log and reset the stage's AU scores when its batches carried AU maps (a decision
        every rank takes alike, so the metric states sync)."""
        carries_maps = getattr(getattr(self.trainer, "datamodule", None), "au_codebook", None) is not None and hasattr(self.net, "cam_layer")
        cam_due = self.cam_explainer is not None and (stage == "test" or self.current_epoch % self.cam_every_n_epochs == 0)
        for kind, due in (("att", carries_maps), ("cam", carries_maps and cam_due)):
            metric = self.au_scores[f"{stage}_{kind}"]
            if due:
                self.log_dict({f"{stage}/{kind}_{key}": value for key, value in metric.compute().items()}, sync_dist=False)
            metric.reset()

    def _log_epoch(self, stage: str) -> None:
        values = self.compute_metrics(stage)
        confusion = values.pop("confusion")
        self.log_dict({f"{stage}/{k}": v for k, v in values.items()}, prog_bar=False, sync_dist=False)
        if stage != "train" and not self.trainer.sanity_checking:
            self._log_confusion(stage, confusion)
        self.metrics[f"{stage}_metrics"].reset()

    def _log_confusion(self, stage: str, confusion: torch.Tensor) -> None:
        if not self.trainer.is_global_zero:
            return
        for logger in self.loggers:
            if isinstance(logger, WandbLogger):
                import wandb

                figure = confusion_figure(confusion.cpu().numpy(), self.class_names, confusion_title(stage, self.current_epoch, self.trainer.ckpt_path))
                rows = [[t, p, int(confusion[i, j])] for i, t in enumerate(self.class_names) for j, p in enumerate(self.class_names)]
                logger.experiment.log(
                    {
                        f"{stage}/confusion": wandb.Image(figure),
                        f"{stage}/confusion_table": wandb.Table(columns=["true", "predicted", "count"], data=rows),
                        "epoch": self.current_epoch,
                    }
                )
                figure.clf()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the architecture only: ``net`` with ``pretrained: false, weights: null`` (the
        trained weights are in the checkpoint; ``net_init`` keeps how training began)."""
        hparams = checkpoint.get(self.CHECKPOINT_HYPER_PARAMS_KEY)
        if hparams and isinstance(hparams.get("net"), Mapping) and "_target_" not in hparams["net"]:
            checkpoint[self.CHECKPOINT_HYPER_PARAMS_KEY] = {**hparams, "net": {**hparams["net"], "pretrained": False, "weights": None}}

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")
        self._log_au_scores("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
        self._log_au_scores("test")

    def configure_optimizers(self) -> Any:
        optimizer = _without_none_keywords(self.optimizer_factory or functools.partial(torch.optim.Adam, lr=1e-3), "optimizer")(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = _without_none_keywords(self.scheduler_factory, "scheduler")(optimizer=optimizer)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/acc"}}
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def confusion_title(stage: str, current_epoch: int, checkpoint: str | None) -> str:
    """The confusion figure's title, epochs counted from 1 as in the progress bar and
    ``train.log``: a validation epoch's number, or the checkpoint a test ran on."""
    if stage != "test":
        return f"{stage} confusion, epoch {current_epoch + 1}"
    return f"test confusion, {os.path.basename(checkpoint).removesuffix('.ckpt')}" if checkpoint else "test confusion, final weights"


def _without_none_keywords(factory: Any, key: str) -> Callable[..., Any]:
    """``factory`` with its None keywords dropped (a ``functools.partial``; other callables as
    they are). Anything else is a config of the old shape (``{name: Adam, ...}``, before
    the partials): one sentence naming the new one."""
    if not callable(factory):
        example = "torch.optim.Adam, _partial_: true, lr: 1.0e-3" if key == "optimizer" else "torch.optim.lr_scheduler.StepLR, _partial_: true, step_size: 4"
        raise UserError(f"model.{key} must be a Hydra partial config such as {{_target_: {example}}}, not {factory!r}.")
    if isinstance(factory, functools.partial) and any(value is None for value in factory.keywords.values()):
        return functools.partial(factory.func, *factory.args, **{name: value for name, value in factory.keywords.items() if value is not None})
    return factory
