"""`hipool report`: the HTML page, rendered in headless Chromium where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from hipool.cli import main
from hipool.report import markdown_to_html

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (scripts/install-chromium.sh)")

# Our own check, independent of the page's script: counts the images that decoded.
_PROBE = """<script>window.addEventListener('load', function () {
  var ims = Array.prototype.slice.call(document.images);
  var ok = ims.filter(function (im) { return im.complete && im.naturalWidth > 0; });
  document.documentElement.setAttribute('data-probe', ok.length + '/' + ims.length + ':' +
    ok.map(function (im) { return im.naturalWidth; }).join(','));
});</script>"""


def _render(page):
    """Load ``page`` in headless Chromium (after our probe is added to a copy next to it); the DOM after load."""
    probe = page.with_name("probe_" + page.name)
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    try:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--allow-file-access-from-files",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _probe(dom):
    m = re.search(r'data-probe="(\d+)/(\d+):([\d,]*)"', dom)
    assert m, "the page never finished loading"
    return int(m.group(1)), int(m.group(2)), [int(w) for w in m.group(3).split(",") if w]


def _report(capsys, run, *args):
    code = main(["report", str(run), *map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_report_of_a_train_run_has_every_section(train_run, cache, capsys):
    printed = _report(capsys, train_run, "--cache-dir", cache, "--graph", 2)
    page = train_run / "report.html"
    assert f"report: {page}" in printed
    html = page.read_text()
    for heading in ("Config", "Learning curves", "Results", "Hierarchy of graph 2"):
        assert f">{heading}</h2>" in html, heading
    assert "<h2>Metrics: train on circuits" in html
    assert ">Per level</h3>" in html and ">Which level decided</h3>" in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs == [
        "report/learning_curves.png",
        "report/graph2/original.png",
        "report/graph2/levels.png",
        "report/graph2/coarsened.png",
    ]
    assert all((train_run / s).is_file() for s in srcs)
    assert "pool: edgepool" in html and "test accuracy" in html and "NMI block" in html


@needs_chromium
def test_report_renders_in_chromium_with_every_image_loaded(train_run, cache, capsys):
    _report(capsys, train_run, "--cache-dir", cache)
    dom = _render(train_run / "report.html")
    ok, total, widths = _probe(dom)
    assert total == 4 and ok == total and all(w > 200 for w in widths)
    assert 'data-broken-images="0"' in dom and 'data-images="4"' in dom


@needs_chromium
def test_a_missing_picture_is_caught(train_run, cache, capsys, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(train_run, copy)
    _report(capsys, copy, "--cache-dir", cache, "--graph", 1)
    (copy / "report" / "graph1" / "levels.png").unlink()
    dom = _render(copy / "report.html")
    ok, total, _ = _probe(dom)
    assert (ok, total) == (3, 4)
    assert 'data-broken-images="1"' in dom and "1 picture(s) did not load: report/graph1/levels.png" in dom


def test_report_of_a_compare_run_has_the_comparison(compare_run, cache, capsys, tmp_path):
    out = tmp_path / "elsewhere" / "cmp.html"
    _report(capsys, compare_run, "--cache-dir", cache, "--out", out, "--no-metrics")
    html = out.read_text()
    assert "<th>model</th>" in html and "edgepool" in html and "global" in html
    assert "fold 0" in html and ">Per level</h3>" not in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert "cmp/accuracy.png" in srcs and "cmp/learning_curves.png" in srcs
    assert all((out.parent / s).is_file() for s in srcs)
    if CHROMIUM:
        ok, total, _ = _probe(_render(out))
        assert ok == total == len(srcs)


def test_report_errors_are_clear(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--no-progress"]) == 2
    assert "hipool report: error: run folder" in capsys.readouterr().err


def test_markdown_tables_become_html_tables():
    html = markdown_to_html("# T\n\nsome `code` here\n\n| a | b |\n|---|---|\n| 1 | <2> |\n\n- x\n- y\n")
    assert "<h3>T</h3>" in html and "<code>code</code>" in html
    assert "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>&lt;2&gt;</td></tr>" in html
    assert "<ul><li>x</li><li>y</li></ul>" in html
