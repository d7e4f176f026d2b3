"""Sphinx configuration of the nightly-sessions user guide (MyST Markdown)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

from nightly_sessions import __version__

project = "nightly-sessions"
author = "nightly-sessions developers"
copyright = "nightly-sessions developers"
release = __version__
version = __version__

extensions = ["myst_parser", "nightly_tables"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
smartquotes = False  # options such as --yes stay as typed

html_theme = "pydata_sphinx_theme"
html_title = "nightly-sessions"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
