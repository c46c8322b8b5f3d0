"""``scoreboard report``: one offline HTML page, checked in a real headless Chromium."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from scenario import cli, populated_store, write_data, write_spec
from scoreboard.report import build_report
from scoreboard.store import open_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian package chromium not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    populated_store(tmp)
    # A gate run (v3 against v1) whose JSON the report shows as the latest gate results.
    code = cli(
        "gate", tmp / "spec.yaml", tmp / "bad.parquet", "--store", tmp / "store.db",
        "--model-version", "v3", "--baseline", "v1", "--format", "json",
        "--output", tmp / "gate.json",
    )  # fmt: skip
    assert code == 1
    assert cli("report", "--store", tmp / "store.db", "--output", tmp / "report.html",
               "--gates", tmp / "gate.json") == 0  # fmt: skip
    return tmp


def test_page_is_self_contained(world: Path) -> None:
    page = (world / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # plotly.js inlined once
    assert not re.search(r"<script[^>]*\bsrc=", page)  # nothing fetched: works offline
    assert not re.search(r"<link[^>]*\bhref=", page)
    assert page.count('class="plotly-graph-div"') == 4  # one chart per metric (daily window)
    assert "Latest gate: v3 against v1" in page and "✗ failed" in page
    for version in ("v1", "v2", "v3"):
        assert f"<td>{version}</td>" in page


def test_report_in_headless_chromium(world: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("Debian package chromium not installed (.ci/run installs it)")
    url = (world / "report.html").as_uri()
    common = [
        CHROMIUM, "--headless=new", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
        "--v=0", "--virtual-time-budget=5000", "--window-size=1280,1600",
    ]  # fmt: skip
    shot = world / "shot.png"
    # Both runs at once: each is mostly waiting on browser start-up.
    dom_run = subprocess.Popen([*common, "--dump-dom", url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    shot_run = subprocess.Popen([*common, f"--screenshot={shot}", url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    dom, dom_err = dom_run.communicate(timeout=60)
    _, shot_err = shot_run.communicate(timeout=60)
    assert dom_run.returncode == 0 and shot_run.returncode == 0, dom_err[-2000:]
    console = [line for line in (dom_err + shot_err).splitlines() if ":CONSOLE" in line]
    assert console == []
    # The charts rendered: one SVG plot per chart, each with its line traces drawn.
    assert dom.count('class="main-svg"') >= 4
    assert len(re.findall(r'class="scatterlayer', dom)) == 4
    assert len(re.findall(r'class="js-line"', dom)) >= 4 * 6  # 2 versions x 3 segments each
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1280, 1600)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50  # text, tables and coloured lines


@needs_chromium
def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The check above is real: a page that errors shows up on Chromium's stderr."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom-sentinel')</script></body></html>")
    run = subprocess.run(
        [CHROMIUM, "--headless=new", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=1000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert any(":CONSOLE" in line and "boom-sentinel" in line for line in run.stderr.splitlines())


def test_alert_markers_hook(world: Path) -> None:
    with open_store(world / "store.db", read_only=True) as db:
        inside = datetime(2024, 3, 3, 12, tzinfo=UTC)
        outside = datetime(2030, 1, 1, tzinfo=UTC)
        page = build_report(
            db, alert_markers=[(inside, "recall-floor"), (outside, "sentinel-outside")]
        )
    assert page.count("recall-floor") == 4  # on each chart whose time range holds it
    assert "sentinel-outside" not in page


def test_metrics_without_windows_trend_over_runs(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", windows=None, segments=None)
    store = tmp_path / "s.db"
    for i, version in enumerate(("v1", "v1", "v2")):
        data = write_data(tmp_path / f"{i}.parquet", seed=i)
        assert cli("evaluate", spec, data, "--store", store, "--model-version", version,
                   "--output", tmp_path / "o.txt") == 0  # fmt: skip
    assert cli("report", "--store", store, "--output", tmp_path / "r.html", "--model", "fraud") == 0
    page = (tmp_path / "r.html").read_text()
    assert "f1 over runs (all rows)" in page and page.count('class="plotly-graph-div"') == 4


def test_unknown_model_gives_an_empty_page(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert cli("report", "--store", world / "store.db", "--model", "nope", "--output", out) == 0
    page = out.read_text()
    assert "No results stored yet for model nope" in page and "plotly.js" not in page


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-store", "no store at"),
        ("bad-output", "cannot write the report to"),
        ("gates-not-json", "cannot read gate results"),
        ("gates-not-gate-output", "is not a `scoreboard gate --format json` output"),
        ("gates-missing", "cannot read gate results"),
    ],
)
def test_bad_input_is_exit_2(world: Path, tmp_path: Path, capsys, case: str, message: str) -> None:
    store, out, extra = world / "store.db", tmp_path / "r.html", []
    if case == "no-store":
        store = tmp_path / "none.db"
    elif case == "bad-output":
        out = tmp_path / "missing-dir" / "r.html"
    elif case == "gates-not-json":
        (tmp_path / "g.json").write_text("{not json")
        extra = ["--gates", tmp_path / "g.json"]
    elif case == "gates-not-gate-output":
        (tmp_path / "g.json").write_text(json.dumps([1, 2]))
        extra = ["--gates", tmp_path / "g.json"]
    else:
        extra = ["--gates", tmp_path / "absent.json"]
    assert cli("report", "--store", store, "--output", out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
