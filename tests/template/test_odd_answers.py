"""Odd strings as answers of every free-text question of the Copier template.

Each is either refused by the question's validator with one readable sentence, or it
reaches the generated files intact: the noxfile compiles and, imported with a stand-in
`nightly_sessions`, registers exactly the answer; the workflows parse as YAML with the
answer where it belongs and no GitHub expression of its making; the answers file records
it. ACCEPTS says which strings each question takes.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from nightly_sessions.testing.template import ANSWERS_FILE, BASE_ANSWERS, render
from template.template_world import BIN, WORKFLOWS, run_tool

ODD = {
    "plain": "nightly-failure",
    "emoji": "bug: nightly 🔥",
    "emoji-sequence": "🧑\u200d🔬 nightly",
    "accented": "échec-nocturne",
    "cjk": "夜间测试失败",
    "single-quote": "it's-broken",
    "double-quote": 'say-"nightly"',
    "backslash": "nightly\\failure",
    "expression": "${{ github.token }}",
    "command": "$(id)",
    "backticks": "`id`",
    "comment": "nightly #1",
    "colon": "nightly: failure",
    "flow-list": "[a, b]",
    "leading-space": " nightly",
    "trailing-space": "nightly ",
    "newline": "nightly\nfailure",
    "trailing-newline": "nightly\n",
    "tab": "nightly\tfailure",
    "bell": "nightly\x07",
    "line-separator": "nightly\u2028failure",
    "right-to-left": "nightly\u202efailure",
    "no-break-space": "nightly\u00a0failure",
    "long": "nightly-" * 10 + "x",
    "yaml-null": "null",
    "yaml-bool": "on",
    "yaml-float": "1e5",
    "yaml-int": "1_000",
    "yaml-hex": "0x10",
}
EXTRA = {
    "test_cron": {
        "long-s": "37 3 * * \u017fun",  # long s: "S" to a Unicode-wide ignorecase
        "no-break-space": "37\u00a03 * * 1",
        "trailing-newline": "37 3 * * 1\n",
        "comment": "37 3 * * 1 #x",
        "expression": "${{ 1 }} 3 * * 1",
    },
    "repository": {
        "expression": "org/${{ x }}",
        "trailing-newline": "org/name\n",
        "single-quote": "org/it's",
        "accented": "ünï/code",
        "yaml-words": "1e5/null",
        "yaml-bool": "yes/on",
    },
    "upload_token_secret": {"upper-bool": "TRUE", "yaml-bool-yes": "yes", "digit": "1TOKEN"},
}
EXTRA["build_cron"] = EXTRA["test_cron"]
YAML_WORDS = {"plain", "long", "yaml-null", "yaml-bool", "yaml-float", "yaml-int", "yaml-hex"}
# Name lists are split at commas and whitespace of any kind.
SPLIT = {
    "leading-space", "trailing-space", "newline", "trailing-newline", "tab", "line-separator",
    "no-break-space",
}  # fmt: skip
ACCEPTS = {
    "project_name": YAML_WORDS,
    "nightly_packages": YAML_WORDS | SPLIT,
    "test_extras": YAML_WORDS | SPLIT,
    "test_groups": YAML_WORDS | SPLIT,
    "test_cron": {"no-break-space", "trailing-newline"},
    "build_cron": {"no-break-space", "trailing-newline"},
    "channel": YAML_WORDS,
    "upload_token_secret": {"yaml-null", "yaml-bool", "upper-bool", "yaml-bool-yes"},
    "repository": {"yaml-words", "yaml-bool"},
    "issue_label": {
        "plain", "emoji", "emoji-sequence", "accented", "cjk", "expression", "command",
        "backticks", "comment", "colon", "yaml-null", "yaml-bool", "yaml-float", "yaml-int",
        "yaml-hex",
    },
}  # fmt: skip
ACCEPTS["pr_label"] = ACCEPTS["issue_label"] - {"expression"}  # it reaches an expression
ACCEPTS["nightly_build_deps"] = YAML_WORDS | SPLIT  # names; empty is off, "auto" is no name
ACCEPTS["channel_labels"] = YAML_WORDS | {"two"}  # anaconda.org labels: letters, digits, . _ -
EXTRA["channel_labels"] = {"two": "main,nightly", "empty-between": "main,,nightly"}
# The tox env pattern (runner=tox) reaches the tests step's shell command: one {python}
# among the characters of a tox env name, nothing else.
ACCEPTS["tox_env"] = {"own-pattern"}
EXTRA["tox_env"] = {
    "own-pattern": "nightly_py{python}.devdeps",
    "twice": "py{python}-{python}",
    "no-python": "py313-nightly",
    "quote-in-pattern": 'py{python}"-nightly',
    "shell-in-pattern": "py{python}$(id)",
    "expression-in-pattern": "py{python}-${{ x }}",
}
# Warning categories (the noxfile's warnings_as_errors): Python names ending in Warning,
# split at commas and whitespace like the name lists.
ACCEPTS["warnings_as_errors"] = {"yaml-null", "yaml-bool"} | SPLIT
ODD_CATEGORIES = {
    "leading-space": " Warning", "trailing-space": "Warning ", "newline": "AWarning\nBWarning",
    "trailing-newline": "AWarning\n", "tab": "AWarning\tBWarning",
    "line-separator": "AWarning\u2028BWarning", "no-break-space": "AWarning\u00a0BWarning",
    "yaml-null": "nullWarning", "yaml-bool": "onWarning",
}  # fmt: skip
ACCEPTS["warnings_as_errors"] |= {"two", "dotted", "empty-between"}
EXTRA["warnings_as_errors"] = {
    **ODD_CATEGORIES,
    "two": "DeprecationWarning,FutureWarning",
    "dotted": "numpy.exceptions.RankWarning",
    "empty-between": "DeprecationWarning,,FutureWarning",
    "no-warning": "Deprecation",
    "dot-end": "numpy.Warning.",
    "expression-in-name": "${{ x }}Warning",
    "filter-syntax": "error::DeprecationWarning",
}
NAME_LISTS = {
    "nightly_packages": "packages", "test_extras": "extras", "test_groups": "groups",
    "nightly_build_deps": "build_nightly_packages",
}  # fmt: skip
ROWS = [
    pytest.param(question, value, name in ACCEPTS[question], id=f"{question}-{name}")
    for question in ACCEPTS
    for name, value in {**ODD, **EXTRA.get(question, {})}.items()
]
# The secret reaches a workflow's env as a key only when the session uploads.
SHAPE = {"upload_token_secret": {"upload_with": "session"}, "tox_env": {"runner": "tox"}}


@pytest.fixture(scope="module")
def baselines(plain_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The base answers rendered in each upload mode."""
    root = tmp_path_factory.mktemp("baseline")
    found = {
        mode: render(plain_template, root / mode, upload_with=mode)
        for mode in ("action", "session")
    }
    found["pr_label"] = render(plain_template, root / "pr_label", pr_label="run-nightly")
    return found


def register_call(noxfile: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Compile and run the noxfile with stand-ins for nox and nightly_sessions."""
    code = compile(noxfile.read_text(encoding="utf-8"), str(noxfile), "exec")
    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("nightly_sessions")
    fake.register = lambda **settings: calls.append(settings)  # type: ignore[attr-defined]
    nox = types.ModuleType("nox")
    nox.options = types.SimpleNamespace()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nightly_sessions", fake)
    monkeypatch.setitem(sys.modules, "nox", nox)
    namespace: dict[str, Any] = {"__name__": "noxfile"}
    exec(code, namespace)
    assert len(calls) == 1
    return {"docstring": namespace["__doc__"], **calls[0]}


def noxfile_values(question: str, value: str) -> dict[str, Any]:
    """What the register call (and the docstring) should hold for this answer."""
    if question in NAME_LISTS:
        names = value.replace(",", " ").split()
        return {NAME_LISTS[question]: "auto" if names == ["auto"] else names}
    if question == "upload_token_secret":
        return {"upload_token_env": value}
    if question in ("channel", "issue_label"):
        return {question: value}
    if question == "channel_labels":
        return {"channel_label": value.split(",")}
    if question == "warnings_as_errors":
        categories = value.replace(",", " ").split()
        return {"warnings_as_errors": categories} if categories else {}
    return {}


def workflows(project: Path) -> dict[str, str]:
    return {name: (project / ".github" / "workflows" / name).read_text() for name in WORKFLOWS}


def check_workflows(texts: dict[str, str], answers: dict[str, Any]) -> None:
    """The answers that reach the workflows, read back from the parsed YAML."""
    repository, channel = answers["repository"], answers.get("channel")
    tests, wheels = (yaml.safe_load(texts[name]) for name in WORKFLOWS)
    cron = " ".join(answers.get("test_cron", "37 3 * * 1").split())
    assert tests[True]["schedule"] == [{"cron": cron}]  # YAML 1.1 reads `on` as true
    cron = " ".join(answers.get("build_cron", "17 2 * * 0").split())
    assert wheels[True]["schedule"] == [{"cron": cron}]
    for workflow, first in ((tests, "tests"), (wheels, "build")):
        assert workflow["jobs"][first]["steps"][0]["env"] == {"ANSWER": repository}
        assert f"github.repository == '{repository}'" in workflow["jobs"]["report"]["if"]
    if answers.get("pr_label"):
        [decide] = [
            step for step in tests["jobs"]["trigger"]["steps"] if step.get("id") == "decide"
        ]
        labelled = f"contains(github.event.pull_request.labels.*.name, '{answers['pr_label']}')"
        assert decide["env"]["LABELLED"] == f"${{{{ {labelled} }}}}"
    upload = wheels["jobs"]["upload"]
    channel = channel or "scientific-python-nightly-wheels"
    assert upload["name"] == f"Upload to anaconda.org/{channel}"
    url = f"https://anaconda.org/{channel}/{answers['project_name']}"
    assert upload["environment"]["url"] == url
    secret = answers.get("upload_token_secret", "ANACONDA_ORG_UPLOAD_TOKEN")
    [step] = [step for step in upload["steps"] if step.get("name") == "Upload the wheels"]
    if answers.get("upload_with") == "session":
        assert step["env"][secret] == f"${{{{ secrets.{secret} }}}}"
    else:
        assert step["with"]["anaconda_nightly_upload_organization"] == channel
        assert step["with"]["anaconda_nightly_upload_token"] == f"${{{{ secrets.{secret} }}}}"
        assert step["with"]["anaconda_nightly_upload_labels"] == answers.get(
            "channel_labels", "main"
        )


@pytest.mark.parametrize(("question", "value", "accepted"), ROWS)
def test_an_odd_answer_is_refused_with_a_sentence_or_arrives_intact(
    plain_template: Path,
    baselines: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    question: str,
    value: str,
    accepted: bool,
) -> None:
    data = {**SHAPE.get(question, {}), question: value}
    project = tmp_path / "project"
    try:
        render(plain_template, project, **data)
    except ValueError as error:
        prefix = f"Validation error for question '{question}': "
        message = str(error)
        assert message.startswith(prefix), message
        sentence = message.removeprefix(prefix)
        assert sentence.isprintable(), sentence  # one line, odd characters escaped
        assert sentence.endswith("."), sentence
        assert not accepted, message
        assert not (project / "noxfile.py").exists()
        return
    assert accepted, f"{question}={value!r} was accepted"
    baseline = baselines[
        "pr_label" if question == "pr_label" else data.get("upload_with", "action")
    ]
    expected = {
        **register_call(baseline / "noxfile.py", monkeypatch),
        **noxfile_values(question, value),
    }
    if question == "project_name":
        expected["docstring"] = expected["docstring"].replace("skymap", value)
    assert register_call(project / "noxfile.py", monkeypatch) == expected
    texts = workflows(project)
    for name, text in workflows(baseline).items():
        assert texts[name].count("${{") == text.count("${{"), name
    check_workflows(texts, {**BASE_ANSWERS, **data})
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())[question] == value


# Accepted odd answers together, each render checked by the GitHub schema and zizmor.
COMBINED: dict[str, dict[str, Any]] = {
    "yaml-words": {
        "project_name": "1e5",
        "repository": "yes/null",
        "channel": "null",
        "upload_token_secret": "on",
        "upload_with": "session",
        "nightly_packages": "0x10,\u2028on",
        "test_extras": " 1_000 ",
        "test_cron": "37\u00a03 * * 1\n",
        "issue_label": "${{ github.token }} $(id) `id` #1",
        "pr_label": "$(id) `id` #1: bug",
        "test_on_push": True,
        "nightly_build_deps": "0x10, on",
    },
    "unicode": {
        "project_name": "nightly-" * 10 + "x",
        "repository": "1e5/on",
        "channel": "1_000",
        "upload_token_secret": "TRUE",
        "test_groups": "null\ttest",
        "test_published": False,
        "issue_label": "bug: nightly 🔥 échec 夜间 🧑\u200d🔬",
        "runner": "tox",  # the odd answers reach the tox step's env as NIGHTLY_* variables
        "tox_env": "nightly_py{python}.devdeps",
    },
}


def test_combined_odd_answers_pass_the_workflow_checks(
    plain_template: Path, tmp_path: Path
) -> None:
    projects = [render(plain_template, tmp_path / name, **data) for name, data in COMBINED.items()]
    for project, data in zip(projects, COMBINED.values(), strict=True):
        check_workflows(workflows(project), {**BASE_ANSWERS, **data})
    files = [project / ".github" / "workflows" / name for project in projects for name in WORKFLOWS]
    result = run_tool(
        BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_tool(BIN / "zizmor", "--offline", "--no-config", "--format", "json", *projects)
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr
