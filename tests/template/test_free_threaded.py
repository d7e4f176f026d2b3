"""A free-threaded Python ("3.14t") as a python_versions answer: the matrix, the noxfile's
python setting, the report's job name and the jobs the tracking issue expects all carry it."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from nightly_sessions.core.config import load_settings
from nightly_sessions.testing.template import render
from template.template_world import nox_steps, steps

PYTHONS = ["3.13", "3.14t"]


def test_a_free_threaded_answer_reaches_the_matrix_and_the_noxfile(
    plain_template: Path, tmp_path: Path
) -> None:
    project = render(plain_template, tmp_path / "project", python_versions=PYTHONS)
    data = yaml.safe_load((project / ".github/workflows/nightly-tests.yml").read_text())
    tests = data["jobs"]["tests"]
    assert tests["strategy"]["matrix"]["python-version"] == PYTHONS
    assert "pythons" not in data["jobs"]
    # setup-python installs "3.14t" by that name; nox then finds python3.14t.
    [setup] = [step for step in steps(tests) if "setup-python" in step.get("uses", "")]
    assert "${{ matrix.python-version }}" in setup["with"]["python-version"]
    arguments, run = nox_steps(tests)["nightly_tests"]
    assert arguments == '--python "$PYTHON_VERSION"'
    assert run["env"]["NIGHTLY_JOB"] == "py${{ matrix.python-version }}-${{ runner.os }}"
    _, issue = nox_steps(data["jobs"]["report"])["nightly_issue"]
    assert issue["env"]["NIGHTLY_EXPECT_JOBS"] == "py3.13-Linux py3.14t-Linux"
    # The noxfile's register(python=[...]) is a python setting nightly-sessions accepts.
    tree = ast.parse((project / "noxfile.py").read_text())
    [call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "register"
    ]
    [python] = [keyword.value for keyword in call.keywords if keyword.arg == "python"]
    assert ast.literal_eval(python) == PYTHONS
    assert load_settings(project, {"python": PYTHONS}, environ={}).python == tuple(PYTHONS)
