import math

import pytest
import torch

from lightning_modules.fer_module import FERModule
from lightning_modules.networks import UnknownNetworkError, available_networks, build_network

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


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


def test_optimizer_and_scheduler_from_config():
    module = _module(optimizer={"name": "RMSprop", "lr": 1e-4}, scheduler=None)
    assert isinstance(module.configure_optimizers(), torch.optim.RMSprop)
    switched = _module(optimizer={"name": "Adam", "lr": 1e-4, "alpha": None}, scheduler=None).configure_optimizers()  # RMSprop's alpha dropped
    assert isinstance(switched, torch.optim.Adam) and switched.defaults["lr"] == 1e-4
    with pytest.raises(Exception, match="Unknown optimizer 'Adamm'"):
        _module(optimizer={"name": "Adamm", "lr": 1}).configure_optimizers()


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
