"""FERModule: trains any classifier on the sample dicts of FERDataModule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import WandbLogger
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score, MulticlassRecall

from lightning_modules.networks import build_network
from lightning_modules.reporting import confusion_figure
from user_errors import UserError

STAGES = ("train", "val", "test")


class FERModule(L.LightningModule):
    """Cross-entropy training of a FER network, with torchmetrics per stage.

    Args:
        net: ``{"name": <registry name or timm id>, "pretrained": bool, "weights": path | None,
            **settings}`` (recorded, so checkpoints reload with no arguments) or any ``nn.Module``.
        num_classes, class_names: the dataset's classes, in label order.
        input_size: network input side, pixels; normalization: a name of
            ``networks.data_config.NORMALIZATIONS`` or ``timm``; None = the network's own.
            Recorded as resolved (``net.data_config``), for explanation and analysis.
        optimizer: ``{"name": <torch.optim class>, **kwargs}``, e.g. ``{"name": "Adam", "lr": 1e-3}``;
            a None value drops that keyword (so a config can switch optimizers).
        scheduler: None, ``{"name": "cosine"}`` (over trainer.max_epochs), ``{"name": "step",
            "step_size", "gamma"}`` or ``{"name": "plateau", "factor", "patience"}`` (on val/acc).
        class_weights: None, ``"balanced"`` (inverse training frequency) or a list of C floats.
        label_smoothing: cross-entropy label smoothing in [0, 1).
        net_init: how the network's weights were initialised when training began (``net`` as
            given: ``pretrained``, ``weights``); recorded only. Checkpoints store ``net`` with
            ``pretrained: false, weights: null``, so reloading rebuilds the architecture without a
            download or the original weights file, then loads the trained weights.
    """

    def __init__(
        self,
        net: dict[str, Any] | nn.Module,
        num_classes: int,
        class_names: list[str],
        input_size: int | None = None,
        normalization: str | None = None,
        optimizer: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
        class_weights: str | list[float] | None = None,
        label_smoothing: float = 0.0,
        net_init: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(net, nn.Module):
            self.net = net
        else:
            self.net = build_network(num_classes=num_classes, input_size=input_size, normalization=normalization, **net)
            net_init = dict(net_init or net)
        data_config = getattr(self.net, "data_config", None)
        if data_config is not None:
            input_size, normalization = data_config.input_size, data_config.normalization
        # records the arguments' current values: the resolved input, how the weights began
        self.save_hyperparameters(ignore=["net"] if isinstance(net, nn.Module) else None)
        self.class_names = list(class_names)
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
        loss = self.update_metrics("train", self(batch["image"]), batch["label"])
        self.log("train/loss_step", loss, prog_bar=True, batch_size=len(batch["label"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> dict[str, torch.Tensor]:
        """Returns the logits, for callbacks (GlobalSaliency selects by prediction)."""
        logits = self(batch["image"])
        self.update_metrics("val", logits, batch["label"])
        return {"logits": logits.detach()}

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.update_metrics("test", self(batch["image"]), batch["label"])

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

                figure = confusion_figure(confusion.cpu().numpy(), self.class_names, f"{stage} confusion, epoch {self.current_epoch}")
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
        if hparams and isinstance(hparams.get("net"), Mapping):
            checkpoint[self.CHECKPOINT_HYPER_PARAMS_KEY] = {**hparams, "net": {**hparams["net"], "pretrained": False, "weights": None}}

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def configure_optimizers(self) -> Any:
        options = {key: value for key, value in (self.hparams.optimizer or {"name": "Adam", "lr": 1e-3}).items() if value is not None}
        optimizer_class = getattr(torch.optim, options.pop("name"), None)
        if optimizer_class is None:
            raise UserError(f"Unknown optimizer '{self.hparams.optimizer['name']}': use a class name of torch.optim such as Adam, AdamW, SGD or RMSprop.")
        optimizer = optimizer_class(self.parameters(), **options)
        if not self.hparams.scheduler:
            return optimizer
        options = dict(self.hparams.scheduler)
        kind = options.pop("name")
        if kind == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.trainer.max_epochs))
        elif kind == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, **options)
        elif kind == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", **options)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/acc"}}
        else:
            raise UserError(f"Unknown scheduler '{kind}': use cosine, step, plateau or null.")
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
