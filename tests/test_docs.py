"""The documentation site (mkdocs.yml, docs/): it builds with warnings as errors (broken
links and anchors included), its configuration reference lists exactly the keys of configs/,
the commands of the getting-started page and of every guide pass train.py's own start-up
check, and the built site opens in Chromium without console errors."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ferlens.jobs.config_check import check_start
from tests.conftest import CONFIGS, ROOT

DOCS = ROOT / "docs"
#: The pages whose code blocks a reader copies: the getting-started page and every guide.
RECIPE_PAGES = [ROOT / "README.md", DOCS / "getting-started.md", *sorted((DOCS / "guides").glob("*.md"))]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: the flags a sandbox without network needs (as tests/analysis/test_html_report.py)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """``mkdocs build --strict`` into a temporary folder (never the repository's ``site/``)."""
    folder = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)]
    built = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    warnings = [line for line in built.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert built.returncode == 0 and warnings == [], built.stderr[-3000:]
    return folder


def test_the_site_builds_strictly_with_every_page_and_the_api_reference(site):
    for page in ["index.html", "getting-started/index.html", "reference/configuration/index.html", "DESIGN/index.html", "METHOD/index.html", "SPEC/index.html"]:
        assert (site / page).is_file(), page
    for guide in (DOCS / "guides").glob("*.md"):
        assert (site / "guides" / guide.stem / "index.html").is_file(), guide.name
    networks = (site / "api" / "networks" / "index.html").read_text()
    # mkdocstrings rendered the docstrings of the source: the function with its own docstring's words
    assert 'id="ferlens.networks.registry.build_network"' in networks and "registered" in networks
    assert not (ROOT / "site").exists() or "site/" in (ROOT / ".gitignore").read_text()


# --- the configuration reference against configs/ ---------------------------------------------


def _package(path: Path, text: str) -> str:
    """Where Hydra puts a file's keys: its ``@package`` header, else its group (sweep files: as written)."""
    header = re.match(r"#\s*@package\s+(\S+)", text)
    group = path.parent.relative_to(CONFIGS)
    if header:
        return "" if header.group(1) == "_global_" else header.group(1)
    return "" if group == Path(".") or group.parts[0] == "sweep" else ".".join(group.parts)


def _flat(value: object, prefix: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [key for name, item in value.items() for key in _flat(item, f"{prefix}.{name}" if prefix else str(name))]
    return [prefix]


def _file_keys(loaded: dict, package: str) -> list[str]:
    """A file's keys as set on the command line; its defaults list stays ``defaults`` (not in the package)."""
    return ["defaults"] * ("defaults" in loaded) + _flat({key: value for key, value in loaded.items() if key != "defaults"}, package)


def _keys_in_configs() -> dict[str, list[str]]:
    keys = {}
    for path in sorted(CONFIGS.rglob("*.yaml")):
        text = path.read_text()
        loaded = yaml.safe_load(text)
        keys[path.relative_to(ROOT).as_posix()] = sorted(_file_keys(loaded, _package(path, text))) if loaded else []
    return keys


def _keys_in_reference(site: Path) -> dict[str, list[str]]:
    page = (site / "reference" / "configuration" / "index.html").read_text()
    generated = page[page.index('id="every-key"') :]
    sections = re.split(r"<h3 id=\"[^\"]*\">", generated)[1:]
    keys = {}
    for section in sections:
        name = html.unescape(re.match(r"(.*?)<", section).group(1)).strip()
        keys[name] = sorted(html.unescape(key) for key in re.findall(r"<tr>\s*<td><code>(.*?)</code></td>", section))
    return keys


def test_every_key_in_the_configuration_reference_is_in_configs_and_the_reverse(site):
    in_reference, in_configs = _keys_in_reference(site), _keys_in_configs()
    assert sorted(in_reference) == sorted(in_configs)  # every yaml file has its section, and no other
    assert {name: keys for name, keys in in_reference.items() if keys != in_configs[name]} == {}
    assert sum(len(keys) for keys in in_configs.values()) > 300
    assert "defaults" in in_reference["configs/data/rafdb.yaml"] and "data.defaults" not in in_reference["configs/data/rafdb.yaml"]
    assert "data.batch_size" in in_reference["configs/data/synthetic.yaml"] and "saliency.gradcampp.name" in in_reference["configs/saliency/gradcampp.yaml"]


def test_the_reference_shows_each_default_and_the_comment_written_beside_or_above_it(tmp_path, monkeypatch):
    hooks = _hooks()
    configs = tmp_path / "configs"
    (configs / "data").mkdir(parents=True)
    (configs / "data" / "mine.yaml").write_text(
        "# My data set.\ndefaults: [_real, _self_]\nroot: /data/mine   # the folder of class folders\n"
        "# faces per batch\nbatch_size: 32\naugment:\n  flip: true\nlist: [a, b]\n"
    )
    monkeypatch.setattr(hooks, "CONFIGS", configs)
    assert hooks.config_keys(configs / "data" / "mine.yaml") == [
        ("defaults", "[_real, _self_]", ""),
        ("data.root", "/data/mine", "the folder of class folders"),
        ("data.batch_size", "32", "faces per batch"),
        ("data.augment.flip", "true", ""),
        ("data.list", "[a, b]", ""),
    ]
    page = hooks.configuration_reference()
    assert "### configs/data/mine.yaml\n\n`data=mine`. My data set." in page
    assert "| `data.root` | <code>/data/mine</code> | the folder of class folders |" in page
    assert "| `defaults` | <code>&#91;&#95;real, &#95;self&#95;&#93;</code> |  |" in page  # shown as written, not as Markdown


def _hooks():
    spec = importlib.util.spec_from_file_location("ferlens_docs_hooks", DOCS / "hooks" / "ferlens_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the recipes' commands ---------------------------------------------------------------------

#: ``python -m`` modules that are tools, not ferlens'.
TOOL_MODULES = ("pytest", "http.server", "mkdocs")
#: Entry scripts and their primary config (what their start-up check composes).
PRIMARY = {"train.py": "train", "analyze.py": "analyze", "ferlens-train": "train", "ferlens-analyze": "analyze", "ferlens-prepare": "prepare"}


def _code_blocks(page: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of a Markdown page, indented ones included."""
    return [(match.group(2), match.group(3)) for match in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", page.read_text(), re.MULTILINE | re.DOTALL)]


def _first_of_sweeps(arguments: list[str]) -> list[str]:
    """A multirun's first job: ``-m`` dropped, ``key=a,b`` -> ``key=a`` (lists and quotes kept)."""
    first = []
    for argument in arguments:
        if argument == "-m":
            continue
        key, equals, value = argument.partition("=")
        if equals and "," in value and not value.startswith(("[", "'", '"', "{")):
            value = value.split(",")[0]
        first.append(f"{key}{equals}{value}")
    return first


def _command_problem(line: str) -> str | None:
    """Why a command line of the docs would not run as written, or None. Placeholders such as
    ``<run dir>`` and ``ENTITY/PROJECT`` stand for the reader's values."""
    words = shlex.split(re.sub(r"<[^>]*>", "PLACEHOLDER", line), comments=True)
    if words[:1] == ["python"] and words[1:2] == ["-m"]:
        module = ROOT.joinpath(*words[2].split("."))
        if words[2] in TOOL_MODULES:
            return None
        if words[2] == "datamodules.prepare":
            return _start_check(words[3:], "prepare")
        return None if module.with_suffix(".py").is_file() or (module / "__main__.py").is_file() else f"no module {words[2]}"
    if words[:1] == ["python"]:
        words = words[1:]
    program = Path(words[0]).name
    if words[0].startswith("benchmarks/"):
        return None if (ROOT / words[0]).is_file() else f"no script {words[0]}"
    if program == "wandb":
        return None if words[1] != "sweep" or (ROOT / words[2]).is_file() else f"no sweep file {words[2]}"
    if program in PRIMARY:
        return _start_check(words[1:], PRIMARY[program])
    return f"not a ferlens command: {words[0]}"


def _start_check(arguments: list[str], primary: str) -> str | None:
    from ferlens.user_errors import UserError

    # resume=<run dir> and explain=<run dir> stand for that run's own overrides (train.py expands them first)
    arguments = [argument for argument in arguments if not argument.startswith(("resume=", "explain="))]
    try:
        check_start(_first_of_sweeps(arguments), CONFIGS, primary)
    except UserError as error:
        return str(error)
    return None


COMMAND = re.compile(r"^(python |ferlens-|wandb (sweep|agent) )")
#: leading environment assignments (``PYTHONPATH=/path/to/my_lab python train.py ...``)
ENVIRONMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)+")


@pytest.mark.parametrize("page", RECIPE_PAGES, ids=lambda page: page.stem)
def test_every_command_of_the_getting_started_page_and_the_guides_passes_the_start_up_check(page):
    blocks = _code_blocks(page)
    lines = [part.strip() for language, text in blocks if language in ("bash", "text", "") for line in text.splitlines() for part in line.split("&&")]
    commands = [ENVIRONMENT.sub("", line) for line in lines if COMMAND.match(ENVIRONMENT.sub("", line))]
    for language, text in blocks:
        if language == "python":
            compile(text, str(page), "exec")
    problems = {command: problem for command in commands if (problem := _command_problem(command)) is not None}
    assert commands and problems == {}


PYTHON_BLOCKS = [(page, text) for page in RECIPE_PAGES for language, text in _code_blocks(page) if language == "python"]
#: a Python block opening with ``# excerpt of examples/<file>.py`` quotes that example (which the tests run)
EXCERPT = re.compile(r"^# excerpt of (examples/[\w/]+\.py)\s*$")


def _code_lines(text: str) -> list[str]:
    """The code of each line, comments and surrounding space removed, blank lines left out."""
    return [code for line in text.splitlines() if (code := re.sub(r"\s+#.*$", "", line).strip()) and not code.startswith("#")]


@pytest.mark.parametrize(("page", "code"), PYTHON_BLOCKS, ids=[page.stem for page, _ in PYTHON_BLOCKS])
def test_every_python_block_of_the_guides_runs_in_a_fresh_interpreter_or_quotes_its_example(page, code, tmp_path):
    quoted = EXCERPT.match(code.splitlines()[0])
    if quoted:  # every line as the example has it (tests/test_examples.py runs the example)
        example = set(_code_lines((ROOT / quoted.group(1)).read_text()))
        assert [line for line in _code_lines(code) if line not in example] == [], f"{page.name} misquotes {quoted.group(1)}"
        return
    ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"{page.name}: {ran.stderr[-2000:]}"


def test_a_misquoted_excerpt_is_caught():
    example = set(_code_lines((ROOT / "examples/explain_in_a_notebook.py").read_text()))
    assert "maps = ferlens.build_explainer(\"gradcam\")(model, images, labels)" not in example
    assert "import ferlens" in example


def test_a_command_that_names_no_setting_or_option_is_caught():
    assert "model" in _command_problem("python train.py model=vgg61")
    assert "trainer.max_epoch" in _command_problem("python train.py -m trainer.max_epoch=1,2")
    assert _command_problem("python train.py -m model=weinet,songnet data.fold=1,2") is None
    assert _command_problem("python -m datamodules.nothing") == "no module datamodules.nothing"


# --- the links of the README and the site in a browser ------------------------------------------


def test_the_readme_links_only_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    targets = [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", text) if not target.startswith(("http://", "https://"))]
    assert targets and [target for target in targets if not (ROOT / target).exists()] == []


class QuietHandler(SimpleHTTPRequestHandler):
    """``python -m http.server``'s handler without its line per request on stderr."""

    def log_message(self, *args):
        pass


def _browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: install Debian's chromium (apt-get install chromium; .ci/run does) to open the built site in a browser")
    return pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -e '.[test]' installs it")


def test_the_served_site_opens_in_chromium_without_console_errors(site):
    sync_api = _browser()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems, failed = [], []
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: failed.append(request.url) if request.url.startswith(base) else None)
            page.goto(f"{base}/")
            page.wait_for_load_state("load")
            assert page.title().startswith("ferlens") and "ferlens" in page.inner_text("article")
            pictures = page.eval_on_selector_all("article img", "images => images.map(image => image.complete && image.naturalWidth > 0)")
            assert pictures and all(pictures)  # the heatmap grid is served and decodes
            page.goto(f"{base}/api/networks/")
            page.wait_for_load_state("load")
            assert "build_network" in page.inner_text("article")
            browser.close()
    finally:
        server.shutdown()
    assert problems == [] and failed == []


def test_the_reference_lists_every_config_group_with_its_options_and_describes_each(site):
    page = (site / "reference" / "configuration" / "index.html").read_text()
    generated, described = page.split("What each group configures")[0], page.split("What each group configures")[1].split('id="every-key"')[0]
    rows = re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>\s*<td>(.*?)</td>", generated, re.DOTALL)
    options = {group: re.findall(r"<code>([^<]+)</code>", cell) for group, cell in rows}
    folders = {path.parent for path in CONFIGS.rglob("*.yaml")} - {CONFIGS, CONFIGS / "sweep"}
    expected = {folder.relative_to(CONFIGS).as_posix(): sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("_")) for folder in folders}
    assert options == expected
    assert sorted(re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>", described)) == sorted(expected)  # each group described, no other


def test_the_refusal_the_configuration_page_quotes_is_the_one_train_py_gives():
    from ferlens.user_errors import UserError

    with pytest.raises(UserError) as refused:
        check_start(["saliency=[shap]"], CONFIGS, "train")
    page = re.sub(r"\s+", " ", (DOCS / "reference" / "configuration.md").read_text())
    assert f"`saliency=[shap]` → \"{refused.value}\"" in page


def test_the_picture_script_redraws_the_committed_heatmap_grid(tmp_path):
    """``python scripts/docs_pictures.py`` makes the README's picture from the vendored heatmaps
    (same size; pixels equal up to font rendering)."""
    import numpy as np
    from PIL import Image

    command = [sys.executable, str(ROOT / "scripts" / "docs_pictures.py"), "--output", str(tmp_path / "grid.png")]
    drawn = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    new = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB"), dtype=float)
    committed = np.asarray(Image.open(DOCS / "images" / "heatmap-grid.png").convert("RGB"), dtype=float)
    assert new.shape == committed.shape and np.abs(new - committed).mean() < 2.0
