"""report/index.html in a real headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it)."""

import html
import shutil
from pathlib import Path

import pytest

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.report.directory import write_report
from ferlens.analysis.report.importance import NO_NETWORKS
from ferlens.analysis.report.statistics_tables import number, with_interval
from ferlens.analysis.sources import LocalSource
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.statistics import GRAND_MEAN, StatisticsSettings, compute_statistics
from ferlens.analysis.statistics.importance_analysis import analyze_importance
from ferlens.evaluation.localisation.masks import load_families
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.formats.importance_evidence import write_importance
from tests.analysis.helpers import blob_maps, make_evidence_artifact
from tests.analysis.statistics.test_region_importance import simulated

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: the flags a sandbox without network needs (no background connections, no GPU, no setuid sandbox as root)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, object, object]:
    root = tmp_path_factory.mktemp("html")
    for run, model, seed, effect in (("a", "alpha", 1, 0.3), ("b", "beta", 2, 0.3), ("c", "gamma", 3, 0.0)):
        make_evidence_artifact(root / "runs" / run, model, class_maps=blob_maps(5 if run == "c" else 0), seed=seed, pretrained=run == "b")
        write_importance(root / "runs" / run / "importance" / "au_regions", simulated(effect, seed))  # the region-importance pass' evidence
    analysis = analyze_collection(LocalSource(paths=[str(root / "runs")]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=200, split_halves=40))
    importance = analyze_importance(analysis, StatisticsSettings(resamples=200, permutations=199), "local", codebook="distinct")  # simulated's codebook
    run = {"command": "python analyze.py source=local source.paths=[runs]", "config": "statistics:\n  resamples: 200\n"}
    directory = write_report(analysis, root / "report", "html test", {"source": "local (runs)"}, statistics, run, importance=importance)
    return directory, statistics, importance


def _browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: install Debian's chromium (apt-get install chromium; .ci/run does) to test report/index.html in a browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -e '.[test]' installs it")
    return sync_api


def test_the_page_is_self_contained(report):
    directory, _, _ = report
    page = (directory / "report" / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and 'src="data:image/png;base64,' in page
    assert page.count("<img") >= 6  # specificity, heatmaps, three dendrograms, region importance
    section = page[page.index('<h2 id="importance">Region importance by intervention</h2>') : page.index('<h2 id="runs">')]
    assert ">adjusted p</th>" in section and 'alt="Region importance by intervention' in section and "<td>all networks</td>" in section


def test_the_report_renders_in_chromium_without_errors_and_shows_its_numbers(report, tmp_path):
    directory, statistics, importance = report
    sync_api = _browser()
    problems, requests = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto((directory / "report" / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.title() == "html test" and problems == []
        assert all(url.startswith(("file://", "data:")) for url in requests), requests  # opens from disk, no network
        images = page.eval_on_selector_all("img", "images => images.map(image => image.complete && image.naturalWidth > 0)")
        assert len(images) >= 5 and all(images)
        text = page.inner_text("body")
        mean = statistics.means.set_index(["network", "mask_family", "metric"]).loc[(GRAND_MEAN, "ekman", "iou")]
        assert with_interval(mean.value, mean.ci_low, mean.ci_high) in text  # the grand mean with its interval
        tests = statistics.permutation[(statistics.permutation.metric == "iou") & (statistics.permutation.network == "alpha")].iloc[0]
        assert f"{tests.p_value:.4f} (exact, 720; adjusted {tests.p_adjusted:.4f})" in text  # the headline metric: a claim, adjusted
        codebook = importance.results.codebook.set_index("network").loc["all networks"]
        assert page.locator("#importance").is_visible() and page.locator("#importance ~ div table").first.is_visible()
        assert f"{codebook.p_value:.4f}\t{codebook.p_adjusted:.4f}" in text  # the pooled codebook test with its adjusted p, in the section's table
        reliability = statistics.reliability.iloc[0]
        assert number(reliability.reliability) in text and "specific alignment" in text and "python analyze.py source=local" in text
        # click the Anger column of the first table twice: its rows sort ascending, then descending
        table = page.locator("table.sortable").first
        header = table.locator("th", has_text="Anger")
        values = lambda: [float(cell.split()[0]) for cell in table.locator("tbody tr td:nth-child(2)").all_inner_texts() if cell[:1].isdigit()]  # noqa: E731
        header.click()
        assert values() == sorted(values())
        header.click()
        assert values() == sorted(values(), reverse=True)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def one_network(tmp_path_factory) -> tuple[Path, list[str]]:
    """The report of one network with per-image evidence (as the default run's)."""
    root = tmp_path_factory.mktemp("one")
    make_evidence_artifact(root / "runs" / "a", "smallcnn", class_maps=blob_maps(0), seed=1)
    analysis = analyze_collection(
        LocalSource(paths=[str(root / "runs")]).collect(Filters()), load_families({"ekman": "ekman", "au": "au"}), Threshold(), progress=False
    )
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=100, split_halves=20))
    return write_report(analysis, root / "report", "one network", {"source": "local (runs)"}, statistics), ["smallcnn"]


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> tuple[Path, list[str]]:
    """The study's report (source=paper: 12 networks, no per-image evidence)."""
    from ferlens.analysis.sources import PaperSource

    analysis = analyze_collection(PaperSource().collect(Filters()), load_families({"ekman": "ekman", "au": "au"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=100, permutations=200, linkages=("average",)))
    importance = analyze_importance(analysis, statistics.settings, "paper")
    directory = write_report(analysis, tmp_path_factory.mktemp("paper") / "report", "paper", {"source": "paper"}, statistics, importance=importance)
    return directory, sorted({s.network for s in analysis.sets})


def _check_at_1280(directory: Path, networks: list[str], printed: Path | None = None) -> None:
    """At 1280x800: nothing wider than the page, the findings first and on the first screen
    naming every network, every image with alt text, no console errors; with ``printed``,
    printed to that PDF without cut content."""
    sync_api = _browser()
    problems = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto((directory / "report" / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        first = page.locator("h2").first
        assert first.inner_text() == "Findings" and first.get_attribute("id") == "findings"
        finding = page.locator("p.finding").first.bounding_box()
        assert finding["y"] + finding["height"] <= 800  # the answer in words on the first screen
        findings = page.locator("#verdicts-gradcam, #verdicts-lime").first.inner_text() + page.locator("p.finding").first.inner_text()
        assert all(network in findings for network in networks)
        alts = page.eval_on_selector_all("img", "images => images.map(image => image.getAttribute('alt') || '')")
        assert alts and all(alt.strip() for alt in alts)
        # every verdict links to a section of the page
        targets = page.eval_on_selector_all("table.verdicts a", "links => links.map(link => link.getAttribute('href').slice(1))")
        assert targets and all(page.locator(f"[id='{target}']").count() == 1 for target in targets)
        if printed is not None:  # print to PDF: every folded section opens, nothing wider than an A4 page (794 CSS px)
            page.pdf(path=str(printed), format="A4")
            assert page.evaluate("document.querySelectorAll('details:not([open])').length") == 0 and printed.stat().st_size > 100_000
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 794, "height": 1123})
            assert page.evaluate("document.documentElement.scrollWidth") <= 794
        browser.close()
    assert problems == []


def test_one_network_report_fits_1280_and_answers_first(one_network):
    _check_at_1280(*one_network)
    page = (one_network[0] / "report" / "index.html").read_text()
    assert "Network differences and dendrograms need at least two networks; this report has one (smallcnn)." in page  # says why they are missing


def test_the_study_report_fits_1280_answers_first_and_prints(paper, tmp_path):
    directory, networks = paper
    assert len(networks) == 12
    _check_at_1280(directory, networks, tmp_path / "report.pdf")
    summary = (directory / "summary.md").read_text()
    assert summary.index("## Findings") < summary.index("## Grand means") and "none of the 12 networks has maps specific" in summary
    assert NO_NETWORKS in summary and html.escape(NO_NETWORKS) in (directory / "report" / "index.html").read_text()  # no networks to intervene on: one sentence
