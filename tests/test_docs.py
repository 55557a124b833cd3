"""The documentation site builds without a warning, and it covers every module.

``make docs`` builds it into ``docs/_build/html``; here it is built into a temporary folder
with warnings as errors, so a docstring that stops being valid reStructuredText, a guide
with a broken cross-reference or a page left out of the table of contents fails the suite.
"""

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hipool

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _public_modules():
    """Every module of the package but ``__main__`` and private (``_``) ones."""
    names = ["hipool"]
    for info in pkgutil.walk_packages(hipool.__path__, "hipool."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def test_every_module_has_an_api_page():
    documented = set()
    for page in (DOCS / "api").glob("*.rst"):
        documented.update(re.findall(r"^\.\. automodule:: (\S+)", page.read_text(), re.MULTILINE))
    missing = [m for m in _public_modules() if m not in documented]
    assert not missing, f"modules without an automodule in docs/api/*.rst: {missing}"


def test_readme_links_to_the_guides():
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    assert {p for p in linked if not (ROOT / p).is_file()} == set()
    guides = {f"docs/{p.name}" for p in DOCS.glob("*.md") if p.name != "index.md"}
    assert guides - linked == set(), "guides the README does not link to"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    out = tmp_path / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-j",
        "auto",
        "-b",
        "html",
        "-d",
        str(tmp_path / "doctrees"),
        str(DOCS),
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    for page in ("index", "quickstart", "api/index", "api/nn"):
        assert (out / f"{page}.html").is_file()
