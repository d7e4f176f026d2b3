"""Code fences that text from test runs cannot close."""

from __future__ import annotations

from nightly_sessions.core.markdown import fenced


def test_fenced_outgrows_backticks_inside() -> None:
    assert fenced("a ``` b") == "````text\na ``` b\n````"
    assert fenced("plain") == "```text\nplain\n```"
    assert fenced("out\n\n", info="") == "```\nout\n```"
