"""The README's promises about itself and CI."""

import subprocess

from tests.conftest import ROOT


def _commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line == "```bash"]


def test_readme_is_a_front_door_of_at_most_250_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_readme_opens_with_exactly_two_commands_install_run_and_install_test():
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert head.count("```bash") == 2
    run, test = _commands()[:2]
    assert run.startswith("pip install -e .") and run.endswith("python train.py")
    assert test.startswith('pip install -e ".[test]"') and "pytest" in test


def test_ci_runs_the_readme_test_command_in_a_fresh_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in ci and "set -euo pipefail" in ci
    extraction = next(line for line in ci.splitlines() if line.startswith("command=$("))[len("command=$(") : -1]
    picked = subprocess.run(["bash", "-c", extraction], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert picked == _commands()[1]
    assert 'eval "$command"' in ci


def test_ci_tests_the_repository_alone_in_an_empty_directory():
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'scratch="$(mktemp -d)"' in ci and 'git clone --quiet "$repository" "$scratch/ferlens"' in ci and 'cd "$scratch/ferlens"' in ci


def test_no_tracked_file_reaches_outside_the_repository():
    outside = ["../" + "shared", "/work" + "/", "steer" + "ing"]
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = [
        f"{name}: {pattern}"
        for name in files
        if (ROOT / name).suffix in {".py", ".md", ".yaml", ".toml", ".txt", ".cfg", ""} and (ROOT / name).is_file()
        for pattern in outside
        if pattern in (ROOT / name).read_text(errors="ignore")
    ]
    assert not offenders, offenders


def test_vendored_reference_keeps_its_licence_and_origin():
    reference = ROOT / "reference" / "ekman"
    assert "MIT License" in (reference / "LICENSE").read_text()
    assert "github.com/Xavi3398/ekman_expressions" in (reference / "README.md").read_text()
    assert len(list((reference / "heatmaps_by_net").glob("*_heatmap.png"))) == 72 and len(list((reference / "gt").glob("*_gt.png"))) == 6


def test_the_data_guide_shows_one_command_per_real_dataset_config_and_each_composes(compose_train):
    """Moved with the README's "Real datasets" section to the guide docs/guides/own-data.md."""
    text = (ROOT / "docs" / "guides" / "own-data.md").read_text()
    section = text[text.index("## Real datasets") :]
    commands = [line.split("#")[0].split() for line in section.splitlines() if line.startswith("python train.py data=")]
    shown = [command[2].removeprefix("data=") for command in commands]
    configs = sorted(path.stem for path in (ROOT / "configs" / "data").glob("*.yaml") if path.stem not in ("synthetic",) and not path.stem.startswith("_"))
    assert sorted(shown) == configs
    for command in commands:
        cfg = compose_train(*command[2:])
        assert cfg.data.root == command[3].removeprefix("data.root=") and cfg.data.reader


def test_every_cited_design_document_is_in_the_repository():
    """Code and README cited DESIGN.md and SPEC.md, which lived outside the repository: every
    ``docs/<name>.md`` cited exists, and none is cited without its folder."""
    import re

    cited, bare = set(), []
    for path in [*ROOT.glob("**/*.py"), *ROOT.glob("*.md"), *ROOT.glob("docs/**/*.md")]:
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text()
        cited |= set(re.findall(r"docs/([A-Z]+)\.md", text))
        bare += [f"{path.name}: {name}" for name in re.findall(r"(?<![/\[(A-Za-z])(DESIGN|SPEC)\.md", text) if "docs" not in path.parts]
    assert {"DESIGN", "SPEC", "METHOD"} <= cited
    assert sorted(name for name in cited if not (ROOT / "docs" / f"{name}.md").is_file()) == [] and bare == []
