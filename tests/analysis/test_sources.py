import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.sources import Filters, LocalSource, WandbSource, checked_source
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.sources.paper import collect_paper
from ferlens.analysis.sources.wandb_project import collect_wandb, run_filters
from ferlens.formats.heatmap_artifact import ARTIFACT_TYPE, stretch
from ferlens.user_errors import UserError
from tests.analysis.helpers import CLASSES, blob_maps, make_artifact, make_run, write_paper_layout


def test_latest_keeps_the_newest_run_per_network_method_fold_and_dataset(tmp_path):
    new = make_run(tmp_path, "a", "2026-05-01T11:00:00+00:00", maps=2)  # found first: directories are sorted
    old = make_run(tmp_path, "b", "2026-05-01T09:30:00+00:00", maps=1)
    older = make_run(tmp_path, "c", "2026-04-30T23:00:00-03:00", maps=3)  # 02:00 UTC, earlier still
    make_run(tmp_path, "d", "2026-05-01T08:00:00+00:00", model="weinet", maps=4)
    found = collect_local([tmp_path], Filters(), latest=True)
    assert sorted(s.key for s in found.sets) == [("smallcnn", "gradcam", "2"), ("weinet", "gradcam", "2")]
    assert np.array_equal(next(s for s in found.sets if s.network == "smallcnn").heatmaps, blob_maps(2))
    assert sorted(found.superseded) == [(str(old), str(new)), (str(older), str(new))]
    # another dataset is not an older run of the same thing: latest keeps both, and they collide
    make_run(tmp_path, "e", "2026-05-02T08:00:00+00:00", dataset="rafdb", maps=5)
    clash = r"differ in run.dir, run.started, run.dataset: keep one dataset with filters.dataset or .*'\{model\}\{guidance\}-\{dataset\}'"
    with pytest.raises(UserError, match=clash):
        collect_local([tmp_path], Filters(), latest=True)
    assert [s.network for s in collect_local([tmp_path], Filters(dataset="rafdb"), latest=True).sets] == ["smallcnn"]


def test_latest_falls_back_to_the_artifact_time_for_manifests_without_a_start(tmp_path):
    old = make_artifact(tmp_path / "a", "weinet", 1, seed=1)  # manifests written before run.started existed
    new = make_artifact(tmp_path / "b", "weinet", 1, seed=2)
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_600_000_000, 1_600_000_000))  # b was written first: a is the newer
    found = collect_local([tmp_path], Filters(), latest=True)
    assert [s.origin for s in found.sets] == [str(old)] and found.superseded == [(str(new), str(old))]


def test_repeated_runs_are_told_apart_by_start_time_and_a_label_still_names_them(tmp_path, caplog):
    """``python train.py`` twice, then the README's analyze command: both runs are kept (it
    refused them), labelled by their start, with a warning saying how and what else to do."""
    first = make_run(tmp_path, "r1", "2026-05-01T09:30:00+00:00")
    make_run(tmp_path, "r2", "2026-05-01T11:00:00+00:00")
    with caplog.at_level(logging.WARNING):
        repeated = collect_local([tmp_path], Filters())
    assert sorted(s.network for s in repeated.sets) == ["smallcnn-20260501T093000Z", "smallcnn-20260501T110000Z"]
    assert (
        "2 heatmap sets share the network label 'smallcnn' (repeated runs or splits): told apart by run start time as "
        "smallcnn-20260501T093000Z, smallcnn-20260501T110000Z; source.latest=true keeps the newest run per split"
    ) in caplog.text
    newest = collect_local([tmp_path], Filters(), latest=True)
    assert [s.network for s in newest.sets] == ["smallcnn"] and newest.superseded == [(str(first), str(tmp_path / "r2" / "heatmaps" / "gradcam"))]
    # a label of one's own works although the runs have no W&B id or name
    assert sorted(s.network for s in collect_local([tmp_path], Filters(), label="{model}@{started}").sets) == [
        "smallcnn@2026-05-01T09:30:00+00:00",
        "smallcnn@2026-05-01T11:00:00+00:00",
    ]
    shutil.rmtree(tmp_path / "r2")
    shutil.copytree(tmp_path / "r1", tmp_path / "copy")
    with pytest.raises(UserError, match="are copies of one artifact .*: give only one of them to the source"):
        collect_local([tmp_path], Filters())


def test_the_split_is_part_of_a_sets_identity_and_latest_never_swaps_it(tmp_path, caplog):
    """``explain=<run> callbacks.global_saliency.split=test`` after a validation-split run:
    ``source.latest=true`` replaced the validation maps by the newer test ones."""
    make_run(tmp_path, "fit", "2026-05-01T09:30:00+00:00", split="val")
    make_run(tmp_path, "explained", "2026-05-01T11:00:00+00:00", split="test")
    for latest in (False, True):
        with caplog.at_level(logging.WARNING):
            found = collect_local([tmp_path], Filters(), latest=latest)
        assert sorted(s.network for s in found.sets) == ["smallcnn-test", "smallcnn-val"] and found.superseded == []
    assert "told apart by explained split as smallcnn-test, smallcnn-val" in caplog.text
    make_run(tmp_path, "again", "2026-05-01T12:00:00+00:00", split="test")
    assert sorted(s.network for s in collect_local([tmp_path], Filters()).sets) == [
        "smallcnn-test-20260501T110000Z", "smallcnn-test-20260501T120000Z", "smallcnn-val-20260501T093000Z",
    ]  # fmt: skip
    assert sorted(s.network for s in collect_local([tmp_path], Filters(), latest=True).sets) == ["smallcnn-test", "smallcnn-val"]


def test_sets_of_two_datasets_under_one_label_are_refused_without_offering_latest(tmp_path):
    make_run(tmp_path, "a", "2026-05-01T09:30:00+00:00")
    make_run(tmp_path, "b", "2026-05-01T11:00:00+00:00", dataset="rafdb")
    with pytest.raises(UserError) as error:
        collect_local([tmp_path], Filters(), latest=True)
    fix = "keep one dataset with filters.dataset or tell them apart with source.label='{model}{guidance}-{dataset}'"
    assert f"differ in run.dir, run.started, run.dataset: {fix}" in str(error.value)
    assert "latest" not in str(error.value)


def test_a_label_field_the_run_does_not_record_is_an_error_not_none(tmp_path):
    make_run(tmp_path, "r1", "2026-05-01T09:30:00+00:00")
    with pytest.raises(UserError, match=r"source.label '\{model\}-\{name\}' uses name, which the run of '.*r1.*' does not record \(None; .*W&B\)"):
        collect_local([tmp_path], Filters(), label="{model}-{name}")
    make_artifact(tmp_path / "old", "weinet", 1)  # written before run.started existed
    with pytest.raises(UserError, match="uses time, which the run of '.*old.*' does not record"):
        collect_local([tmp_path], Filters(), label="{model}-{time}")


def test_filters_dataset_and_run(tmp_path):
    make_run(tmp_path / "runs", "2026-05-01_09-30-00", "2026-05-01T09:30:00+00:00", model="weinet")
    make_run(tmp_path / "runs", "2026-05-01_11-00-00", "2026-05-01T11:00:00+00:00", model="songnet", dataset="rafdb")
    make_run(tmp_path / "runs", "wandb-run", "2026-05-01T12:00:00+00:00", model="vgg16", id="abc123", name="brisk-sun-3")
    make_artifact(tmp_path / "old", "alexnet", 2)  # no dataset, dir or started recorded: passes no such filter

    def networks(**filters: object) -> list[str]:
        return sorted(s.network for s in collect_local([tmp_path], Filters(**filters)).sets)

    assert networks() == ["alexnet", "songnet", "vgg16", "weinet"]
    assert networks(dataset=["synthetic"]) == ["vgg16", "weinet"] and networks(dataset="rafdb") == ["songnet"]
    assert networks(run=["2026-05-01_09-30-00"]) == ["weinet"]  # the run directory's folder name
    assert networks(run=[str(tmp_path / "runs" / "2026-05-01_11-00-00")]) == ["songnet"]  # its path
    assert networks(run=[str(tmp_path / "runs" / "2026-05-01_11-00-00" / ".." / "wandb-run") + "/"]) == ["vgg16"]
    assert networks(run=["abc123", "2026-05-01_09-30-00"]) == ["vgg16", "weinet"]  # a W&B run id
    assert networks(run=["nope"]) == [] and networks(fold=2, dataset=["synthetic"], run="wandb-run") == ["vgg16"]
    assert Filters(dataset="rafdb", run=["abc123"]).describe() == "dataset=['rafdb'], run=['abc123']"


def test_local_finds_artifacts_and_filters(tmp_path):
    make_artifact(tmp_path / "run1", "weinet", 1, seed=1)
    make_artifact(tmp_path / "run2", "weinet", 2, seed=2)
    make_artifact(tmp_path / "run3", "songnet", 1, "lime", seed=3)
    found = collect_local([tmp_path], Filters())
    assert sorted(s.key for s in found.sets) == [("songnet", "lime", "1"), ("weinet", "gradcam", "1"), ("weinet", "gradcam", "2")]
    weinet2 = next(s for s in found.sets if s.key == ("weinet", "gradcam", "2"))
    assert np.array_equal(weinet2.heatmaps, blob_maps(2)) and weinet2.counts == [10, 11, 12, 13, 14, 15] and weinet2.classes == CLASSES
    assert [s.key for s in collect_local([tmp_path], Filters(model=["weinet"], fold=[2])).sets] == [("weinet", "gradcam", "2")]
    assert [s.key for s in collect_local([tmp_path], Filters(method=["lime"])).sets] == [("songnet", "lime", "1")]
    # the same artifact reached twice (a run directory and its parent) is read once
    assert len(collect_local([tmp_path, tmp_path / "run1", tmp_path / "run1" / "heatmaps" / "gradcam"], Filters()).sets) == 3


def test_a_runs_region_importance_evidence_is_no_damaged_heatmap_artifact(tmp_path):
    from ferlens.formats.importance_evidence import write_importance
    from tests.analysis.statistics.test_region_importance import simulated

    make_artifact(tmp_path / "run", "weinet", 1)
    write_importance(tmp_path / "run" / "importance" / "au_regions", simulated(0.3, 0))  # +importance=au_regions beside the heatmaps
    found = collect_local([tmp_path], Filters(), strict=True)
    assert [s.key for s in found.sets] == [("weinet", "gradcam", "1")] and found.skipped == []


def test_guided_and_unguided_runs_of_one_network_get_two_labels(tmp_path):
    make_artifact(tmp_path / "plain", "weinet", 1, seed=1, au_guidance=0.0)
    make_artifact(tmp_path / "guided", "weinet", 1, seed=2, au_guidance=9.0)
    make_artifact(tmp_path / "old", "songnet", 1, seed=3)  # written before AU guidance existed
    found = collect_local([tmp_path], Filters())
    assert sorted(s.network for s in found.sets) == ["songnet", "weinet", "weinet+AU9"]
    labelled = collect_local([tmp_path], Filters(), label="{model}{guidance}-f{fold}")
    assert sorted(s.network for s in labelled.sets) == ["songnet-f1", "weinet+AU9-f1", "weinet-f1"]
    assert sorted(s.network for s in collect_local([tmp_path], Filters(), label="{model}").sets) == ["songnet", "weinet-guided", "weinet-plain"]


def test_local_from_wandb_run_directory(tmp_path):
    make_artifact(tmp_path / "run", "weinet", 1)
    (tmp_path / "run" / "wandb" / "offline-run-20261122_000000-abc").mkdir(parents=True)
    found = collect_local([tmp_path / "run" / "wandb" / "offline-run-20261122_000000-abc"], Filters())
    assert [s.key for s in found.sets] == [("weinet", "gradcam", "1")]


def test_local_skips_and_reports_damaged_artifacts(tmp_path):
    make_artifact(tmp_path / "good", "weinet", 1)
    bad = make_artifact(tmp_path / "bad", "songnet", 1)
    (bad / "png" / "Fear.png").write_bytes(b"tampered")
    found = collect_local([tmp_path], Filters())
    assert [s.network for s in found.sets] == ["weinet"]
    assert len(found.skipped) == 1 and "Fear.png" in found.skipped[0][1] and "checksum" in found.skipped[0][1]
    with pytest.raises(UserError, match="does not match its checksum"):
        collect_local([tmp_path], Filters(), strict=True)


def test_local_duplicates_and_labels(tmp_path):
    make_artifact(tmp_path / "a", "weinet", 1, seed=1)
    make_artifact(tmp_path / "b", "weinet", 1, seed=2)
    assert sorted(s.network for s in collect_local([tmp_path], Filters()).sets) == ["weinet-a", "weinet-b"]  # same second: their run folders
    labelled = collect_local([tmp_path], Filters(), label="{model}-s{seed}")
    assert sorted(s.network for s in labelled.sets) == ["weinet-s1", "weinet-s2"]
    with pytest.raises(UserError, match="source.label '\\{colour\\}'"):
        collect_local([tmp_path], Filters(), label="{colour}")


def test_missing_paths_and_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        collect_local([tmp_path / "nope"], Filters())
    with pytest.raises(UserError, match="source.paths"):
        LocalSource(paths=[])
    with pytest.raises(UserError, match="source.project=ENTITY/PROJECT"):
        WandbSource(project="")
    with pytest.raises(UserError, match="source._target_=builtins.dict is not a heatmap source"):
        checked_source({}, "builtins.dict")
    with pytest.raises(UserError, match="not a directory"):
        collect_paper(tmp_path / "nope", Filters())


def test_paper_layout_pooled_and_folds(tmp_path):
    write_paper_layout(tmp_path, {("NetA", None): blob_maps(0), ("NetA", 1): blob_maps(1), ("Net_B", 2): blob_maps(2)})
    found = collect_paper(tmp_path, Filters(), pretrained=["NetA"])
    assert sorted(s.key for s in found.sets) == [("NetA", "lime", "1"), ("NetA", "lime", POOLED), ("Net_B", "lime", "2")]
    pooled = next(s for s in found.sets if s.fold == POOLED)
    assert pooled.classes == CLASSES and pooled.pretrained is True and pooled.from_gray
    assert np.array_equal(pooled.gray(), np.stack([stretch(m) for m in blob_maps(0)]))


def test_paper_layout_skips_incomplete_and_unreadable(tmp_path):
    write_paper_layout(tmp_path, {("Good", None): blob_maps(0), ("Partial", None): blob_maps(1), ("Broken", None): blob_maps(2)})
    (tmp_path / "Partial_Fear_heatmap.png").unlink()
    (tmp_path / "Broken_Sadness_heatmap.png").write_bytes(b"not a png")
    found = collect_paper(tmp_path, Filters())
    assert [s.network for s in found.sets] == ["Good"]
    reasons = dict(found.skipped)
    assert len(reasons) == 2
    assert any("Partial" in origin and "no heatmap for Fear" in reason for origin, reason in reasons.items())
    assert any("Broken_Sadness_heatmap.png cannot be read" in reason for reason in reasons.values())


class FakeArtifact:
    """The public API's artifact as collect_wandb uses it: name, version, type, metadata, download."""

    def __init__(self, directory: Path, version: int, artifact_type: str = ARTIFACT_TYPE):
        self.source = directory
        self.name = f"heatmaps-{directory.parent.parent.name}-{directory.name}:v{version}"
        self.version = f"v{version}"
        self.type = artifact_type
        self.metadata = json.loads((directory / "manifest.json").read_text())
        self.downloads = 0

    def download(self, root: str, skip_cache: bool | None = None) -> str:
        """Like the real one, files already in ``root`` are left as they are."""
        self.downloads += 1
        for path in self.source.rglob("*"):
            target = Path(root) / path.relative_to(self.source)
            if path.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        return root


class FakeRun:
    def __init__(self, artifacts):
        self.artifacts = artifacts

    def logged_artifacts(self):
        return self.artifacts


class FakeApi:
    """Serves runs of one project from local artifact directories, recording the filters."""

    def __init__(self, runs):
        self.runs_by_project = runs
        self.calls = []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return self.runs_by_project


def test_wandb_filters_choose_latest_version_cache_and_verify(tmp_path):
    old = FakeArtifact(make_artifact(tmp_path / "r1", "weinet", 1, seed=9), 0)
    new = FakeArtifact(make_artifact(tmp_path / "r1b" / "r1", "weinet", 1, seed=1), 1)
    other = FakeArtifact(make_artifact(tmp_path / "r2", "songnet", 2, seed=2), 0)
    model_file = FakeArtifact(make_artifact(tmp_path / "r3", "vgg16", 1, seed=3), 0, artifact_type="model")
    api = FakeApi([FakeRun([old, new, model_file]), FakeRun([other])])
    cache = tmp_path / "cache"
    found = collect_wandb("team/ferlens", Filters(model=["weinet"]), sweep="sw1", tags=["paper"], cache_dir=cache, api=api)
    assert api.calls == [("team/ferlens", {"$and": [{"sweep": "sw1"}, {"tags": {"$in": ["paper"]}}]})]
    assert [s.key for s in found.sets] == [("weinet", "gradcam", "1")]
    assert np.array_equal(found.sets[0].heatmaps, blob_maps(1))  # v1, not v0
    assert (old.downloads, new.downloads, other.downloads, model_file.downloads) == (0, 1, 0, 0)
    collect_wandb("team/ferlens", Filters(model=["weinet"]), cache_dir=cache, api=api)
    assert new.downloads == 1  # verified cache reused
    (cache / "team/ferlens" / new.name.split(":")[0] / "v1" / "heatmaps.npy").write_bytes(b"damaged")
    again = collect_wandb("team/ferlens", Filters(model=["weinet"]), cache_dir=cache, api=api)
    assert new.downloads == 2 and np.array_equal(again.sets[0].heatmaps, blob_maps(1))  # damaged cache fetched again


def test_wandb_latest_downloads_only_the_newest_run_and_filters_by_run(tmp_path):
    old = FakeArtifact(make_run(tmp_path, "old", "2026-05-01T09:30:00+00:00", maps=1, id="run1"), 0)
    new = FakeArtifact(make_run(tmp_path, "new", "2026-05-01T11:00:00+00:00", maps=2, id="run2"), 0)
    unstarted = FakeArtifact(make_artifact(tmp_path / "r3", "smallcnn", 2, seed=3), 0)
    unstarted.metadata["run"]["dataset"] = "synthetic"
    unstarted.created_at = "2026-05-01T10:00:00"  # no run.started: the artifact's creation time, naive = UTC
    api = FakeApi([FakeRun([old]), FakeRun([new]), FakeRun([unstarted])])
    found = collect_wandb("team/ferlens", Filters(), latest=True, cache_dir=tmp_path / "cache", api=api)
    assert [s.origin for s in found.sets] == [f"team/ferlens/{new.name}"] and np.array_equal(found.sets[0].heatmaps, blob_maps(2))
    assert (old.downloads, new.downloads, unstarted.downloads) == (0, 1, 0)
    assert found.superseded == [(old.name, unstarted.name), (unstarted.name, new.name)]
    chosen = collect_wandb("team/ferlens", Filters(run=["run1"]), cache_dir=tmp_path / "cache", api=api)
    assert [s.run.id for s in chosen.sets] == ["run1"] and old.downloads == 1


def test_wandb_errors_are_one_sentence(tmp_path):
    with pytest.raises(UserError, match="ENTITY/PROJECT"):
        collect_wandb("ferlens", Filters(), api=FakeApi([]))

    class Unreachable:
        def runs(self, path, filters=None):
            raise ConnectionError("no route to host")

    with pytest.raises(UserError, match="Listing the runs of W&B project 'team/p' failed \\(ConnectionError: no route to host\\)"):
        collect_wandb("team/p", Filters(), api=Unreachable())
    assert collect_wandb("team/p", Filters(), api=FakeApi([]), cache_dir=tmp_path).sets == []


def test_run_filters():
    assert run_filters() == {}
    assert run_filters(group="g") == {"group": "g"}


def test_wandb_without_a_login_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UserError, match="The W&B public API is not available .*: run `wandb login`"):
        collect_wandb("team/ferlens", Filters(), cache_dir=tmp_path)


def test_sources_are_chosen_by_target_and_one_unbracketed_path_is_one_path(tmp_path):
    """``source.paths=logs/train`` without brackets was read one character at a time."""
    from hydra.utils import instantiate

    make_artifact(tmp_path / "a", "weinet", 1)
    source = instantiate({"_target_": "ferlens.analysis.sources.LocalSource", "paths": str(tmp_path)})
    assert isinstance(source, LocalSource) and source.paths == [str(tmp_path)] and source.where == str(tmp_path)
    assert [s.network for s in source.collect(Filters()).sets] == ["weinet"]
    paper = instantiate({"_target_": "ferlens.analysis.sources.PaperSource"})
    assert paper.kind == "paper" and paper.where.endswith("reference/ekman/heatmaps_by_net") and len(paper.collect(Filters()).sets) == 12


def test_a_debug_runs_artifact_is_left_out_unless_its_run_is_named(tmp_path, caplog):
    from ferlens.jobs.run_directory import DEBUG_RUN

    runs = tmp_path / "logs" / "train" / "runs"
    real, debug = runs / "real", runs / "debug"
    make_artifact(real, "smallcnn", 1)
    artifact = make_artifact(debug, "smallcnn", 1, seed=1)
    (debug / ".hydra").mkdir()
    (artifact / DEBUG_RUN).write_text("trainer.fast_dev_run=True: a debug run\n")
    with caplog.at_level("WARNING"):
        found = collect_local([tmp_path / "logs"], Filters())
    assert [s.origin for s in found.sets] == [str(real / "heatmaps" / "gradcam")]
    assert caplog.messages == [
        f"left out 1 heatmap artifact of debug runs (trainer.fast_dev_run): {artifact}; name such a run's directory in source.paths to analyze it."
    ]
    for named in (debug, artifact):  # the run directory, or the artifact itself
        assert [s.origin for s in collect_local([named], Filters()).sets] == [str(artifact)]
