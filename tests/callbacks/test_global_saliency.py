from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import torch

from ferlens.callbacks.heatmap_accumulator import GlobalHeatmapAccumulator
from ferlens.formats.evidence import pool_to_evidence
from ferlens.formats.heatmap_artifact import read_artifact
from tests.conftest import SMALL_DATA, run_train


def test_accumulator_means_counts_zero_maps_and_skips():
    accumulator = GlobalHeatmapAccumulator(3)
    maps = torch.stack([torch.full((275, 224), v) for v in (1.0, 3.0, 5.0, 7.0, 0.0, 0.0)])
    accumulator.update(maps, torch.tensor([0, 0, 2, 2, 2, 0]), torch.tensor([True, True, True, False, True, False]))
    means, counts, zero_maps = accumulator.compute()
    assert counts.tolist() == [2, 0, 2] and zero_maps.tolist() == [0, 0, 1]  # the invalid ones are left out
    assert means[0].unique().tolist() == [2.0] and means[2].unique().tolist() == [2.5]
    assert means[1].abs().max() == 0 and torch.isfinite(means).all()  # an empty class is 0, never NaN


def test_unknown_target_is_one_sentence():
    from ferlens.callbacks.global_saliency import GlobalSaliency
    from ferlens.user_errors import UserError

    with pytest.raises(UserError, match="use predicted \\(the predicted class\\) or label \\(the true class\\)"):
        GlobalSaliency({"gradcam": {"name": "gradcam"}}, target=True)  # YAML 'true' is a boolean


def test_the_run_start_is_taken_once_and_a_resumed_run_keeps_the_original():
    from ferlens.callbacks.global_saliency import GlobalSaliency

    callback = GlobalSaliency({"gradcam": {"name": "gradcam"}})
    callback.setup(None, None, "fit")
    started = datetime.fromisoformat(callback.started)
    assert started.utcoffset() == timedelta(0) and started.microsecond == 0  # ISO 8601, UTC, seconds
    assert abs(datetime.now(timezone.utc) - started) < timedelta(minutes=1)
    callback.setup(None, None, "test")  # trainer.test after fit: the same run
    assert callback.state_dict() == {"explained_epochs": [], "started": started.isoformat()}
    resumed = GlobalSaliency({"gradcam": {"name": "gradcam"}})
    resumed.setup(None, None, "fit")  # Lightning sets up first, then restores the checkpoint
    resumed.load_state_dict({"explained_epochs": [0], "started": "2026-05-01T09:30:00+00:00"})
    assert resumed.started == "2026-05-01T09:30:00+00:00"
    resumed.load_state_dict({"explained_epochs": [0]})  # a checkpoint written before the start was recorded
    assert resumed.started == "2026-05-01T09:30:00+00:00"


@pytest.mark.slow
def test_two_process_heatmaps_equal_one_process(tmp_path):
    fit = run_train(*SMALL_DATA, "data.fold=2", "trainer.max_epochs=2", "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'fit'}")
    assert fit.returncode == 0, fit.stderr[-3000:]
    checkpoint = next((tmp_path / "fit" / "checkpoints").glob("epoch*.ckpt"))
    common = [
        *SMALL_DATA, "data.fold=2", "train=false", f"init_from={checkpoint}", "logger=none", "callbacks=[global_saliency]",
        "saliency=[gradcam,lime]", "saliency.lime.num_samples=40", "callbacks.global_saliency.per_class=4", "callbacks.global_saliency.target=label",
        "trainer=ddp", "trainer.accelerator=cpu",
        "+sanity=mprt", "callbacks.global_saliency.randomisation.per_class=1", "callbacks.global_saliency.randomisation.draws=1",
    ]  # fmt: skip
    for devices in (1, 2):
        result = run_train(*common, f"trainer.devices={devices}", f"hydra.run.dir={tmp_path / str(devices)}")
        assert result.returncode == 0, result.stderr[-3000:]
    for method in ("gradcam", "lime"):
        one, two = read_artifact(tmp_path / "1" / "heatmaps" / method), read_artifact(tmp_path / "2" / "heatmaps" / method)
        assert one.manifest.counts == two.manifest.counts and sum(one.manifest.counts.values()) > 4
        assert np.abs(one.heatmaps - two.heatmaps).max() <= 1e-5 * max(1.0, float(np.abs(one.heatmaps).max()))
        assert one.heatmaps.max() > 0
        # the per-image evidence: every explained image exactly once, whichever rank explained it
        assert list(two.evidence.index) == list(one.evidence.index) and len(one.evidence) == sum(one.manifest.counts.values())
        for name in ("target", "label", "prediction", "subject", "name"):
            assert np.array_equal(getattr(one.evidence, name), getattr(two.evidence, name)), name
        np.testing.assert_allclose(one.evidence.values(), two.evidence.values(), rtol=1e-3, atol=1e-6 * float(one.heatmaps.max()))
        assert one.manifest.correct_share == two.manifest.correct_share
        # the sanity checks: every explained image's faithfulness once, the same images re-explained under randomisation
        faithfulness = ("deletion_auc", "insertion_auc", "road_combined", "normalised_deletion_auc", "normalised_insertion_auc", "normalised_road_combined")
        checks = {"faithfulness": faithfulness, "randomisation": ("cascading_spearman", "independent_ssim")}
        for check, fields in checks.items():
            single, double = getattr(one.manifest, check).overall, getattr(two.manifest, check).overall
            assert single["counts"] == double["counts"] > 0, check
            for field in fields:
                np.testing.assert_allclose(double[field], single[field], rtol=1e-5, atol=1e-6, err_msg=f"{check} {field}")
        assert one.manifest.faithfulness.overall["counts"] == sum(one.manifest.counts.values())
        assert one.manifest.randomisation.fails == two.manifest.randomisation.fails
        assert (tmp_path / "2" / "heatmaps" / method / "randomisation.png").is_file()


class FacesWithoutLandmarks:
    """Synthetic faces whose landmarks are unknown (NaN), as a user's own source might give;
    ``data.source._target_`` of a run."""

    def __init__(self, **options: object) -> None:
        from ferlens.datamodules.synthetic import SyntheticFaces

        self.faces = SyntheticFaces(**options)
        self.class_names, self.labels, self.subjects = self.faces.class_names, self.faces.labels, self.faces.subjects
        self.paths = [f"{s}_{i}.png" for i, s in enumerate(self.subjects)]

    def __len__(self) -> int:
        return len(self.faces)

    def describe(self) -> str:
        return "synthetic faces without landmarks"

    def __getitem__(self, index: int):
        sample = self.faces[index]
        sample.landmarks[:] = np.nan
        return sample


def test_samples_without_landmarks_stop_the_run_in_one_sentence_not_an_all_zero_artifact(tmp_path):
    result = run_train(
        "data.source._target_=tests.callbacks.test_global_saliency.FacesWithoutLandmarks", "data.source.num_images=60",
        "data.source.num_subjects=12", "data.num_folds=4", "trainer.max_epochs=1",
        "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: GlobalSaliency cannot warp 15 of the 15 selected test images into the template because they have no landmarks")
    assert "_0.png" in last or ".png" in last  # names what was skipped
    assert "the checkpoints were kept" in last and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "heatmaps").exists()
    assert list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))


def test_a_few_skipped_samples_are_counted_and_named_below_the_limit():
    from ferlens.callbacks.global_saliency import GlobalSaliency
    from ferlens.user_errors import UserError

    callback = GlobalSaliency({"gradcampp": {"name": "gradcampp"}}, max_skipped_fraction=0.1)

    class Trainer:
        is_global_zero = True
        datamodule = type("D", (), {"source": type("S", (), {"paths": [f"img{i}.png" for i in range(100)]})()})()

    callback._check_skipped(Trainer(), 100, [3, 7], "gradcampp", "test")  # 2 % skipped: a warning
    with pytest.raises(UserError, match=r"cannot warp 11 of the 100 selected test images .* \(e.g. img0.png, img1.png, img2.png\), above max_skipped"):
        callback._check_skipped(Trainer(), 100, list(range(11)), "gradcampp", "test")
    with pytest.raises(UserError, match="no validation sample to explain"):
        callback._check_skipped(Trainer(), 0, [], "gradcampp", "val")


@pytest.mark.slow
def test_heatmaps_come_from_the_best_checkpoint_whatever_stops_training(tmp_path):
    """max_epochs=-1 with max_steps: the old last-epoch trigger never fired. The artifact
    must describe the best checkpoint and equal a separate explanation of that checkpoint."""
    fit = run_train(
        *SMALL_DATA, "data.fold=2", "trainer.max_epochs=-1", "+trainer.max_steps=6", "data.batch_size=16", "logger=none",
        "callbacks.progress_bar=null", "saliency=[gradcampp]", f"hydra.run.dir={tmp_path / 'fit'}",
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "heatmaps gradcampp (best checkpoint, test split)" in fit.stderr  # the progress bar of the explanation pass
    artifact = read_artifact(tmp_path / "fit" / "heatmaps" / "gradcampp")
    run = artifact.manifest.run  # the run's identity without W&B (logger=none): its directory and start
    assert run.dir == str((tmp_path / "fit").resolve()) and run.id is None and (run.dataset, run.seed) == ("synthetic", 42)
    assert datetime.fromisoformat(run.started).utcoffset() == timedelta(0)
    weights = artifact.manifest.weights
    best = next(p for p in (tmp_path / "fit" / "checkpoints").glob("epoch*.ckpt"))
    assert weights.source == "best checkpoint" and weights.checkpoint == str(best.resolve())
    assert weights.epoch == int(best.name[5:8]) - 1 and abs(weights.val_acc - float(best.stem.split("acc")[1])) < 1e-4
    assert artifact.manifest.run.epoch == weights.epoch and sum(artifact.manifest.counts.values()) > 0
    zero_maps, counts = artifact.manifest.zero_maps, artifact.manifest.counts
    assert set(zero_maps) == set(artifact.classes) and all(0 <= n <= counts[c] for c, n in zero_maps.items())
    evidence = artifact.evidence  # one pooled map per explained image, whose class means are the heatmaps
    assert len(evidence) == sum(counts.values()) and artifact.manifest.evidence.images == len(evidence)
    assert all(subject.startswith("s") for subject in evidence.subject) and artifact.manifest.evidence.subjects_known
    for c, name in enumerate(artifact.classes):
        chosen = evidence.target == c
        assert int(chosen.sum()) == counts[name]
        if counts[name]:
            mean = evidence.values(chosen).mean(axis=0)
            np.testing.assert_allclose(mean, pool_to_evidence(artifact.heatmaps[c]).ravel(), rtol=2e-3, atol=2e-3 * float(artifact.heatmaps[c].max()))
            assert artifact.manifest.correct_share[name] == pytest.approx(np.mean(evidence.label[chosen] == evidence.prediction[chosen]))
            assert (evidence.prediction[chosen] == c).all()  # target=predicted: each image entered its predicted class
        else:
            assert artifact.manifest.correct_share[name] is None
    again = run_train(
        *SMALL_DATA, "data.fold=2", "train=false", "test=false", f"init_from={best}", "logger=none", "callbacks=[global_saliency]",
        "saliency=[gradcampp]", f"hydra.run.dir={tmp_path / 'again'}",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    separate = read_artifact(tmp_path / "again" / "heatmaps" / "gradcampp")
    assert separate.manifest.run.dir == str((tmp_path / "again").resolve()) and separate.manifest.run.started >= run.started
    assert separate.manifest.weights.source == "given weights" and separate.manifest.counts == artifact.manifest.counts
    np.testing.assert_allclose(separate.heatmaps, artifact.heatmaps, rtol=1e-5, atol=1e-6 * float(artifact.heatmaps.max()))
    assert artifact.heatmaps.max() > 0


@pytest.mark.slow
def test_chosen_epochs_each_get_their_own_artifact(tmp_path):
    result = run_train(
        *SMALL_DATA, "data.fold=2", "trainer.max_epochs=2", "logger=none", "callbacks.progress_bar=null", "saliency=[gradcampp]",
        "callbacks.global_saliency.epochs=[0,1]", f"hydra.run.dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (read_artifact(tmp_path / "heatmaps" / "gradcampp" / f"epoch={e}") for e in (0, 1))
    assert (first.manifest.weights.epoch, second.manifest.weights.epoch) == (0, 1)
    assert first.manifest.weights.source == "epoch 0" and first.manifest.weights.val_acc is not None
    assert not np.allclose(first.heatmaps, second.heatmaps)  # not one overwriting the other
    assert not (tmp_path / "heatmaps" / "gradcampp" / "manifest.json").exists()


def test_the_expected_cost_is_announced_from_the_first_batch():
    from ferlens.callbacks.global_saliency import expected_cost

    assert expected_cost("lime", 4.0, 200, 1, 1, 2) == (
        "heatmaps lime (method 1 of 2): 4.00 s per image on the first batch, about 13.3 min for 200 images; "
        "200 images x 2 methods: about 26.7 min if the others cost the same"
    )
    assert expected_cost("gradcam", 0.25, 100, 2, 2, 2) == "heatmaps gradcam (method 2 of 2): 0.25 s per image on the first batch, about 12 s for 100 images"
