"""Sphinx configuration of hipool's documentation (``make docs``).

The guides are Markdown (MyST), readable on GitHub as they are; the API reference is
generated from the docstrings (reStructuredText, Google-style ``Args:`` sections).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
# The package itself, when it is not installed (it is, in make's .venv).
sys.path.insert(1, os.path.join(HERE, os.pardir, "src"))

import hipool

project = "hipool"
author = "the hipool authors"
copyright = "the hipool authors"
release = version = hipool.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "reexports",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Guides: `(page.md#heading-slug)` links, as GitHub writes them, work in the site too.
myst_heading_anchors = 3

# API reference.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# Optional extras (RDKit, matplotlib, scikit-learn) are imported when called, so every module
# imports without them; nothing needs mocking.

html_theme = "alabaster"
html_title = f"hipool {release}"
html_theme_options = {
    "description": "Hierarchical graph pooling on PyTorch Geometric",
    "fixed_sidebar": True,
    "page_width": "1280px",
    "sidebar_width": "240px",
    "body_max_width": "none",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_static_path = []
