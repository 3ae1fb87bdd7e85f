import pytest

from ferlens.jobs.resume import resume_arguments
from ferlens.user_errors import UserError
from tests.jobs.test_run_directory import _run


def test_resume_replays_the_runs_own_overrides_into_its_own_directory(tmp_path):
    run = _run(tmp_path / "logs" / "train" / "runs", "r1")
    (run / ".hydra" / "overrides.yaml").write_text("- model=weinet\n- saliency=[gradcampp,attention]\n- source.label='{model}-{seed}'\n")
    expected = ["model=weinet", "saliency=[gradcampp,attention]", "source.label='{model}-{seed}'", f"hydra.run.dir='{run.resolve()}'"]
    assert resume_arguments([f"resume={run}"]) == expected
    assert resume_arguments(["resume=last"], log_dir=tmp_path / "logs") == expected
    assert resume_arguments(["model=vgg16", "seed=2"]) == ["model=vgg16", "seed=2"]  # no resume: unchanged


def test_a_directory_with_a_quote_in_its_name_is_passed_quoted(tmp_path):
    run = _run(tmp_path, "it's")
    assert resume_arguments([f"resume={run}"])[-1] == "hydra.run.dir='" + str(run.resolve()).replace("'", "\\'") + "'"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["resume=/no/such/run"], "resume='/no/such/run' is not a directory: pass a train.py run directory"),
        (["resume=last"], "resume=last found no interrupted run under"),
        (["-m", "resume=last"], "resume= continues one run: to resume a multirun, launch it again with hydra.sweep.dir=<its directory>"),
        (
            ["resume=last", "trainer.max_epochs=20"],
            "resume= takes no other settings (the run continues with its own, from .hydra/overrides.yaml): drop trainer.max_epochs=20.",
        ),
    ],
)
def test_bad_resume_requests_are_one_sentence(tmp_path, arguments, message):
    with pytest.raises(UserError) as error:
        resume_arguments(arguments, log_dir=tmp_path)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_directory_that_is_not_a_run_or_has_no_checkpoint_is_named(tmp_path):
    with pytest.raises(UserError, match="is not a train.py run directory"):
        resume_arguments([f"resume={tmp_path}"])
    early = _run(tmp_path, "early", checkpoint=False)
    with pytest.raises(UserError, match=r"has no checkpoints/last.ckpt \(it stopped before its first epoch ended\)"):
        resume_arguments([f"resume={early}"])


def test_resume_of_a_cut_short_last_checkpoint_is_one_sentence_naming_it(tmp_path):
    run = _run(tmp_path / "logs" / "train" / "runs", "r1")
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:-25])  # the copy or the disk stopped early
    for argument in (f"resume={run}", "resume=last"):
        with pytest.raises(UserError) as error:
            resume_arguments([argument], log_dir=tmp_path / "logs")
        assert str(error.value).startswith(f"{last.resolve() if argument == 'resume=last' else last} is damaged (cut short")
        assert str(error.value).endswith("start the run again.")
