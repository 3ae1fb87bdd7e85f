import numpy as np
import pytest
import torch

from callbacks.global_saliency import select_samples
from callbacks.heatmap_accumulator import GlobalHeatmapAccumulator
from formats.heatmap_artifact import read_artifact
from tests.conftest import SMALL_DATA, run_train


def test_accumulator_means_counts_and_skips():
    accumulator = GlobalHeatmapAccumulator(3)
    maps = torch.stack([torch.full((275, 224), v) for v in (1.0, 3.0, 5.0, 7.0)])
    accumulator.update(maps, torch.tensor([0, 0, 2, 2]), torch.tensor([True, True, True, False]))
    means, counts, skipped = accumulator.compute()
    assert counts.tolist() == [2, 0, 1] and int(skipped) == 1
    assert means[0].unique().tolist() == [2.0] and means[2].unique().tolist() == [5.0]
    assert means[1].abs().max() == 0 and torch.isfinite(means).all()  # an empty class is 0, never NaN


def test_selection_caps_each_class_with_the_seed_and_follows_the_policy():
    indices = np.arange(100)[::-1].copy()
    labels = indices % 3
    predictions = np.where(indices % 5 == 0, (labels + 1) % 3, labels)
    picked, classes = select_samples(indices, labels, predictions, "predicted", False, 10, seed=1)
    assert np.bincount(classes).tolist() == [10, 10, 10] and (np.diff(picked) > 0).all()
    again, _ = select_samples(indices[::-1], labels[::-1], predictions[::-1], "predicted", False, 10, seed=1)
    assert np.array_equal(picked, again)  # independent of record order (ranks)
    assert not np.array_equal(picked, select_samples(indices, labels, predictions, "predicted", False, 10, seed=2)[0])
    correct, classes = select_samples(indices, labels, predictions, "label", True, None, seed=1)
    assert len(correct) == 80 and (classes == correct % 3).all()


def test_unknown_target_is_one_sentence():
    from callbacks.global_saliency import GlobalSaliency
    from user_errors import UserError

    with pytest.raises(UserError, match="use predicted \\(the predicted class\\) or label \\(the true class\\)"):
        GlobalSaliency({"gradcam": {"name": "gradcam"}}, target=True)  # YAML 'true' is a boolean


@pytest.mark.slow
def test_two_process_heatmaps_equal_one_process(tmp_path):
    fit = run_train(*SMALL_DATA, "data.fold=2", "trainer.max_epochs=2", "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'fit'}")
    assert fit.returncode == 0, fit.stderr[-3000:]
    checkpoint = next((tmp_path / "fit" / "checkpoints").glob("epoch*.ckpt"))
    common = [
        *SMALL_DATA, "data.fold=2", "train=false", f"init_from={checkpoint}", "logger=none", "callbacks=[global_saliency]",
        "saliency=[gradcam,lime]", "saliency.lime.num_samples=40", "callbacks.global_saliency.per_class=4", "trainer=ddp", "trainer.accelerator=cpu",
    ]  # fmt: skip
    for devices in (1, 2):
        result = run_train(*common, f"trainer.devices={devices}", f"hydra.run.dir={tmp_path / str(devices)}")
        assert result.returncode == 0, result.stderr[-3000:]
    for method in ("gradcam", "lime"):
        one, two = read_artifact(tmp_path / "1" / "heatmaps" / method), read_artifact(tmp_path / "2" / "heatmaps" / method)
        assert one.manifest["counts"] == two.manifest["counts"] and sum(one.manifest["counts"].values()) > 4
        assert np.abs(one.heatmaps - two.heatmaps).max() <= 1e-5 * max(1.0, float(np.abs(one.heatmaps).max()))
        assert one.heatmaps.max() > 0


def test_samples_without_landmarks_are_skipped_and_counted(tmp_path):
    import cv2

    from datamodules.synthetic import SyntheticFaces

    faces = SyntheticFaces(60, 12, 64, seed=0)
    for i in range(60):  # a folder dataset: no landmarks (NaN) for any image
        sample = faces[i]
        folder = tmp_path / "data" / faces.class_names[sample.label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{sample.subject}_{i}.png"), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
    result = run_train(
        "data=folder", f"data.source.root={tmp_path / 'data'}", "data.num_workers=0", "data.num_folds=4", "trainer.max_epochs=1",
        "callbacks=[default,global_saliency]", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    artifact = read_artifact(tmp_path / "run" / "heatmaps" / "gradcam")
    assert artifact.manifest["skipped_no_landmarks"] == 15 and sum(artifact.manifest["counts"].values()) == 0
    assert artifact.manifest["empty_classes"] == artifact.classes and np.isfinite(artifact.heatmaps).all() and artifact.heatmaps.max() == 0
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert list(runs[0].glob("files/media/images/heatmaps/gradcam_*.png"))  # the figure reached W&B (offline)
