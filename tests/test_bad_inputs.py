"""Bad input to every command of `python -m nightly_sessions`: one sentence, a documented code.

Each row runs the real command line as a subprocess, on loopback only: every URL names
127.0.0.1 on a closed port (or a loopback index), and a `sitecustomize` guard refuses and
records any connection beyond loopback. Rows are independent, so pytest-xdist spreads them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nightly_world import build_world

from nightly_sessions.core.commands import BY_NAME as COMMANDS
from nightly_sessions.testing.wheelhouse import make_wheel

CLOSED = "http://127.0.0.1:1"  # nothing listens on port 1: refused at once
SECRET = "s3cr3tTOKEN"
DOCUMENTED_CODES = {0, 1, 2, 3, 4, 5, 130}
VALID = b'[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["tinyarray"]\n'
DIRECTORY = b"<a directory>"  # the pyproject.toml of such a row is a folder

# Refuses (and records) every connection and name lookup beyond loopback, in this process
# and every Python it starts (PYTHONPATH is inherited).
GUARD = """
import os, socket

_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
)


def _loopback(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in ("localhost", "::1") or host.startswith("127.")


def _refuse(host):
    with open(os.environ["NIGHTLY_TEST_NETWORK_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{host}\\n")
    raise ConnectionRefusedError(111, "Connection refused")


def connect(self, address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        _refuse(address[0])
    return _connect(self, address)


def connect_ex(self, address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        _refuse(address[0])
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(host):
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
    connect, connect_ex, getaddrinfo
)
"""


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments after `python -m nightly_sessions`, and what must happen.

    `{tmp}`, `{project}`, `{self}` (this interpreter) and `{python}` in arguments and
    environment values are filled in per row; `files` are written below `{tmp}` first.
    `world` rows get loopback indexes with nightlies and a fresh virtual environment as
    `{python}`, so pytest really runs.
    """

    id: str
    code: int
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    pyproject: bytes | None = VALID
    files: Mapping[str, bytes] = field(default_factory=dict)
    secret: str | None = None
    world: bool = False


def case(
    id: str,
    code: int,
    *args: str,
    env: Mapping[str, str] | None = None,
    pyproject: bytes | None = VALID,
    files: Mapping[str, bytes] | None = None,
    secret: str | None = None,
    world: bool = False,
    xfail: str | None = None,
) -> object:
    """A table row as a pytest parameter (strictly expected to fail when `xfail` says why)."""
    row = Case(id, code, args, env or {}, pyproject, files or {}, secret, world)
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    if world:
        marks.append(pytest.mark.integration)
    return pytest.param(row, id=id, marks=marks)


def settings(text: str) -> bytes:
    """A valid project with `text` as its [tool.nightly-sessions] table."""
    return VALID + b"\n[tool.nightly-sessions]\n" + text.encode() + b"\n"


def good_wheel() -> bytes:
    """A valid wheel of the project, so that a row fails on what it means to, not on the file."""
    with tempfile.TemporaryDirectory() as folder:
        return make_wheel(Path(folder), "demo", "1.0.dev0").read_bytes()


GOOD_WHEEL = good_wheel()


def report_json(**fields: object) -> bytes:
    """A schema-1 nightly-report.json with `fields` changed."""
    data = {
        "schema": 1, "job": "py3.12-Linux", "python": "3.12", "platform": "linux-x86_64",
        "stage": "tests", "nightly_index": f"{CLOSED}/simple/", "packages": [], "repairs": [],
        "outcome": "passed", **fields,
    }  # fmt: skip
    return json.dumps(data).encode()


REPORT = "reports/py3.12-Linux/nightly-report.json"
WHEEL = "dist/demo-1.0.dev0-py3-none-any.whl"

CASES = [
    # The command line itself.
    case("no-command", 2),
    case("unknown-command", 2, "bogus-command"),
    case("unknown-global-option", 2, "--bogus-flag", "plan"),
    case("project-without-value", 2, "plan", "--project"),
    case("project-does-not-exist", 2, "--project", "{tmp}/nowhere", "plan"),
    case("project-is-a-file", 2, "--project", "{project}/pyproject.toml", "plan"),
    case("secret-in-unknown-option", 2, "plan", f"--index=https://user:{SECRET}@127.0.0.1:1/simple/", secret=SECRET),
    # plan
    case("plan-unknown-option", 2, "plan", "--bogus-flag"),
    case("plan-bad-python-version", 2, "plan", "--python-version", "three"),
    case("plan-bad-free-threaded-version", 2, "plan", "--python-version", "3.14x"),
    case("plan-json-with-value", 2, "plan", "--json=yes"),
    case("plan-unreachable-index", 3, "plan"),
    case("plan-git-packages-not-git", 2, "plan", pyproject=settings('git-packages = { joblib = "https://github.com/joblib/joblib" }')),
    case("plan-git-packages-bad-name", 2, "plan", env={"NIGHTLY_GIT_PACKAGES": "jo*b=git+https://h/jo@main"}),
    case("plan-git-packages-token", 2, "plan", env={"NIGHTLY_GIT_PACKAGES": f"joblib=git+https://u:{SECRET}@h"}, secret=SECRET),
    # run and verify
    case("run-python-missing", 2, "run", "--python", "{tmp}/nowhere/python"),
    case("run-python-not-executable", 2, "run", "--python", "{project}/pyproject.toml"),
    case("run-python-is-a-folder", 2, "run", "--python", "{tmp}"),
    case("run-bad-installer", 2, "run", "--installer", "conda"),
    case("run-last-green-without-path", 2, "run", "--python", "{self}", "--last-green"),
    case("run-unreachable-index", 3, "run", "--python", "{self}"),
    case("run-pytest-bogus-flag", 2, "run", "--python", "{python}", "--", "--bogus-flag", world=True),
    case("run-pytest-k-matches-nothing", 1, "run", "--python", "{python}", "--", "-k", "nomatch", world=True),
    case("run-pytest-bad-k-expression", 2, "run", "--python", "{python}", "--", "-k", "a and", world=True),
    case("verify-python-missing", 2, "verify", "--python", "{tmp}/nowhere/python"),
    case("verify-unknown-option", 2, "verify", "--strict"),
    # other checks
    case("run-check-unknown", 2, "run", "--python", "{self}", "--check", "lint", pyproject=settings('checks = { mypy = "mypy src" }')),
    case("run-check-none-defined", 2, "run", "--python", "{self}", "--check", "mypy"),
    case("run-check-and-no-checks", 2, "run", "--python", "{self}", "--check", "mypy", "--no-checks", pyproject=settings('checks = { mypy = "mypy src" }')),
    case("settings-check-bad-name", 2, "plan", pyproject=settings('checks = { "My Check" = "mypy src" }')),
    case("settings-check-unclosed-quote", 2, "plan", pyproject=settings("checks = { mypy = \"mypy 'src\" }")),
    case("settings-check-bad-requirement", 2, "plan", pyproject=settings('checks = { mypy = { command = "mypy", requires = ["my py"] } }')),
    # pythons
    case("pythons-unknown-option", 2, "pythons", "--bogus-flag"),
    case("pythons-bad-python-setting", 2, "pythons", pyproject=settings('python = "three"')),
    case("pythons-output-is-a-folder", 2, "pythons", env={"GITHUB_OUTPUT": "{tmp}"}),
    # report
    case("report-folder-missing", 2, "report", "{tmp}/nowhere"),
    case("report-folder-empty", 2, "report", "{tmp}", pyproject=None),
    case("report-not-json", 2, "report", "{tmp}/reports", files={REPORT: b"not json {"}),
    case("report-binary", 2, "report", "{tmp}/reports", files={REPORT: b"\xff\xfe\x00\x01PK\x03\x04"}),
    case("report-json-list", 2, "report", "{tmp}/reports", files={REPORT: b"[1, 2]"}),
    case("report-wrong-schema", 2, "report", "{tmp}/reports", files={REPORT: b'{"schema": 99}'}),
    case("report-damaged", 2, "report", "{tmp}/reports", files={REPORT: b'{"schema": 1, "job": 5}'}),
    case("report-empty-file", 2, "report", "{tmp}/reports", files={REPORT: b""}),
    case("report-packages-not-tables", 2, "report", "{tmp}/reports", files={REPORT: report_json(packages=[1])}),
    case("report-output-tail-a-number", 2, "report", "{tmp}/reports", files={REPORT: report_json(output_tail=5)}),
    case("report-counts-not-numbers", 2, "report", "{tmp}/reports", files={REPORT: report_json(pytest={"exit_code": 1, "report_log": "x", "passed": "all", "failed": 0, "errors": 0, "skipped": 0})}),
    case("report-dir-is-a-file", 2, "report", env={"NIGHTLY_REPORT_DIR": "pyproject.toml"}),
    # build
    case("build-python-missing", 2, "build", "--python", "{tmp}/nowhere/python"),
    case("build-bad-installer", 2, "build", "--installer", "poetry"),
    case("build-bad-build-date", 2, "build", "--native", env={"NIGHTLY_BUILD_DATE": "yesterday"}),
    # check-dist
    case("check-dist-missing-folder", 2, "check-dist", "{tmp}/nowhere"),
    case("check-dist-empty-folder", 2, "check-dist", env={"NIGHTLY_DIST_DIR": "{tmp}"}, pyproject=None),
    case("check-dist-not-a-wheel", 2, "check-dist", "{tmp}/notes.txt", files={"notes.txt": b"hello"}),
    case("check-dist-corrupt-wheel", 2, "check-dist", "{tmp}/dist", files={WHEEL: b"not a zip file"}),
    case("check-dist-unknown-option", 2, "check-dist", "--bogus-flag"),
    case("check-dist-folder-holds-a-non-wheel", 2, "check-dist", "{tmp}/dist", files={"dist/notes.txt": b"hello"}),
    # upload
    case("upload-missing-dist-dir", 2, "upload", "--dry-run", "--dist-dir", "{tmp}/nowhere"),
    case("upload-dist-dir-holds-a-non-wheel", 2, "upload", "--dry-run", "--dist-dir", "{tmp}/dist", files={"dist/notes.txt": b"hello"}),
    case("upload-jobs-not-a-number", 2, "upload", "--dry-run", "--jobs", "many"),
    case("upload-jobs-zero", 2, "upload", "--dry-run", "--jobs", "0"),
    case("upload-attempts-negative", 2, "upload", "--dry-run", "--attempts", "-1"),
    case("upload-verify-timeout-nan", 2, "upload", "--dry-run", "--verify-timeout", "nan"),
    case("upload-secret-as-jobs", 2, "upload", "--jobs", f"https://user:{SECRET}@127.0.0.1:1/", secret=SECRET),
    case("upload-without-token", 2, "upload", "--dist-dir", "{tmp}/dist", files={WHEEL: GOOD_WHEEL}, env={"GITHUB_EVENT_NAME": "schedule"}),
    case("upload-unreachable-channel", 3, "upload", "--dist-dir", "{tmp}/dist", files={WHEEL: GOOD_WHEEL}, env={"ANACONDA_ORG_UPLOAD_TOKEN": "t0ken-x"}),
    case("upload-token-is-secret", 3, "upload", "--dist-dir", "{tmp}/dist", files={WHEEL: GOOD_WHEEL}, env={"ANACONDA_ORG_UPLOAD_TOKEN": SECRET}, secret=SECRET),
    case("upload-index-url-not-a-url", 2, "upload", "--dry-run", "--verify", "--index-url", "not a url"),
    case("published-without-a-dist-folder", 2, "published"),
    case("published-dist-holds-two-versions", 2, "published", files={WHEEL: GOOD_WHEEL, "dist/demo-1.1.dev0-py3-none-any.whl": GOOD_WHEEL}),
    case("published-version-not-pep440", 2, "published", "--version", "tomorrow"),
    case("published-index-url-not-a-url", 2, "published", "--version", "1.0.dev0", "--index-url", "not a url"),
    case("published-channel-never-lists-it", 3, "published", "--version", "1.0.dev0", "--index-url", f"{CLOSED}/simple", env={"NIGHTLY_PUBLISHED_WAIT": "1"}),
    case("published-index-url-is-secret", 3, "published", "--version", "1.0.dev0", "--index-url", f"http://127.0.0.1:1/t/{SECRET}/simple", env={"NIGHTLY_PUBLISHED_WAIT": "1"}, secret=SECRET),
    case("settings-published-wait-zero", 2, "published", pyproject=settings("published-wait = 0")),
    case("settings-published-smoke-unclosed-quote", 2, "published", pyproject=settings("published-smoke = \"python -c 'x\"")),
    case("build-nightly-build-deps-not-names", 2, "build", "--nightly-build-deps", "num py!"),
    case("settings-build-nightly-packages-a-number", 2, "build", pyproject=settings("build-nightly-packages = [1]")),
    case("upload-label-empty-between-commas", 2, "upload", "--dry-run", "--label", "main,,dev"),
    case("upload-label-with-a-space", 2, "upload", "--dry-run", "--label", "my label"),
    case("upload-label-env-with-a-slash", 2, "upload", "--dry-run", env={"NIGHTLY_CHANNEL_LABEL": "main,dev/x"}),
    case("settings-channel-label-empty-list", 2, "upload", "--dry-run", pyproject=settings("channel-label = []")),
    case("settings-channel-label-a-number", 2, "upload", "--dry-run", pyproject=settings("channel-label = [1]")),
    # cleanup
    case("cleanup-keep-not-a-number", 2, "cleanup", "--keep", "five"),
    case("cleanup-keep-negative", 2, "cleanup", "--keep", "-1"),
    case("cleanup-days-negative", 2, "cleanup", "--days", "-30"),
    case("cleanup-unreachable-api", 3, "cleanup"),
    case("cleanup-secret-in-api-url", 3, "cleanup", env={"NIGHTLY_ANACONDA_API_URL": f"https://user:{SECRET}@127.0.0.1:1/"}, secret=SECRET),
    case("cleanup-bad-keep-setting", 2, "cleanup", pyproject=settings("cleanup-keep = -1")),
    case("cleanup-without-project-name", 2, "cleanup", pyproject=b"[project]\n"),
    case("cleanup-dropped-tags-with-keep", 2, "cleanup", "--dropped-tags", "--keep", "3"),
    case("cleanup-dropped-tags-with-days", 2, "cleanup", "--dropped-tags", "--days", "30"),
    case("cleanup-dropped-tags-with-value", 2, "cleanup", "--dropped-tags=yes"),
    case("cleanup-dropped-tags-unreachable-api", 3, "cleanup", "--dropped-tags", "--yes", env={"ANACONDA_ORG_UPLOAD_TOKEN": SECRET}, secret=SECRET),
    # token
    case("token-days-negative", 2, "token", "--days", "-1"),
    case("token-days-not-a-number", 2, "token", "--days", "soon"),
    case("token-bad-warn-days-variable", 2, "token", env={"NIGHTLY_TOKEN_WARN_DAYS": "a month"}),
    case("token-bad-warn-days-setting", 2, "token", pyproject=settings("token-warn-days = -5")),
    case("token-without-token", 2, "token", env={"GITHUB_EVENT_NAME": "schedule"}),
    case("token-with-a-line-break", 2, "token", env={"ANACONDA_ORG_UPLOAD_TOKEN": f"{SECRET}\nrest"}, secret=SECRET),
    case("token-unreachable-api", 3, "token", env={"ANACONDA_ORG_UPLOAD_TOKEN": "t0ken-x"}),
    case("token-is-secret", 3, "token", env={"ANACONDA_ORG_UPLOAD_TOKEN": SECRET}, secret=SECRET),
    # freshness
    case("freshness-days-not-a-number", 2, "freshness", "--days", "old"),
    case("freshness-dependency-days-negative", 2, "freshness", "--dependency-days", "-1"),
    case("freshness-bad-days-variable", 2, "freshness", env={"NIGHTLY_FRESHNESS_DAYS": "abc"}),
    case("freshness-unreachable", 3, "freshness"),
    # init
    case("init-without-template", 2, "init", "--print"),
    case("init-template-path-missing", 2, "init", "--template", "{tmp}/no-such-template"),
    case("init-template-without-copier-yml", 2, "init", "--template", "{tmp}", files={"tpl/README.md": b"x"}),
    case("init-template-copier-refuses", 5, "init", "--template", "{tmp}/tpl", files={"tpl/copier.yml": b"_subdirectory: [unclosed\n"}),
    # issue
    case("issue-folder-is-a-file", 2, "issue", "{project}/pyproject.toml", "--dry-run"),
    case("issue-bad-tests-result", 2, "issue", "--tests-result", "maybe"),
    case("issue-without-token", 2, "issue", "{tmp}", env={"GITHUB_REPOSITORY": "octo/demo"}),
    case("issue-bad-repository", 2, "issue", "{tmp}", "--repository", "not a repository", env={"GITHUB_TOKEN": "t0ken-x"}),
    case("issue-bad-run-id", 2, "issue", "--workflow-run", "--run-id", "latest", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo"}),
    case("issue-api-not-a-url", 2, "issue", "{tmp}", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo", "GITHUB_API_URL": "not a url"}),
    case("issue-unreachable-api", 3, "issue", "{tmp}", "--no-compare", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo"}),
    case("issue-secret-in-api-url", 3, "issue", "{tmp}", "--no-compare", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo", "GITHUB_API_URL": f"http://127.0.0.1:1/t/{SECRET}/api"}, secret=SECRET),
    # last-green
    case("last-green-without-workflow", 2, "last-green", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo"}),
    case("last-green-without-token", 2, "last-green", "--workflow", "nightly.yml", "--branch", "main", env={"GITHUB_REPOSITORY": "octo/demo"}),
    case("last-green-unreachable-api", 3, "last-green", "--workflow", "nightly.yml", "--branch", "main", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo"}),
    case("last-green-secret-in-api-url", 3, "last-green", "--workflow", "nightly.yml", "--branch", "main", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo", "GITHUB_API_URL": f"http://127.0.0.1:1/t/{SECRET}/api"}, secret=SECRET),
    # keepalive
    case("keepalive-without-token", 2, "keepalive", env={"GITHUB_REPOSITORY": "octo/demo"}),
    case("keepalive-bad-repository", 2, "keepalive", "--repository", "octo", env={"GITHUB_TOKEN": "t0ken-x"}),
    case("keepalive-unreachable-api", 3, "keepalive", env={"GITHUB_TOKEN": "t0ken-x", "GITHUB_REPOSITORY": "octo/demo"}),
    case("keepalive-token-is-secret", 3, "keepalive", env={"GITHUB_TOKEN": SECRET, "GITHUB_REPOSITORY": "octo/demo"}, secret=SECRET),
    # Settings from the environment.
    case("retries-not-a-number", 2, "plan", env={"NIGHTLY_RETRIES": "abc"}),
    case("retries-negative", 2, "plan", env={"NIGHTLY_RETRIES": "-1"}),
    case("timeout-negative", 2, "plan", env={"NIGHTLY_TIMEOUT": "-1"}),
    case("timeout-nan", 2, "plan", env={"NIGHTLY_TIMEOUT": "nan"}),
    case("timeout-not-a-number", 2, "plan", env={"NIGHTLY_TIMEOUT": "soon"}),
    case("strict-not-a-boolean", 2, "plan", env={"NIGHTLY_STRICT": "maybe"}),
    case("culprit-not-a-boolean", 2, "plan", env={"NIGHTLY_CULPRIT": "sometimes"}),
    case("culprit-budget-not-a-share", 2, "plan", env={"NIGHTLY_CULPRIT_BUDGET": "half"}),
    case("culprit-budget-zero", 2, "plan", pyproject=settings('culprit-budget = "0%"')),
    case("culprit-max-packages-negative", 2, "plan", env={"NIGHTLY_CULPRIT_MAX_PACKAGES": "-1"}),
    case("warnings-as-errors-typo", 2, "run", env={"NIGHTLY_WARNINGS_AS_ERRORS": "Deprecation"}),
    case("warnings-as-errors-filter", 2, "plan", pyproject=settings(
        'warnings-as-errors = ["error::DeprecationWarning"]'
    )),
    case("fail-on-new-deprecations-not-a-boolean", 2, "run", env={
        "NIGHTLY_FAIL_ON_NEW_DEPRECATIONS": "maybe"
    }),
    case("deprecations-issue-label-empty", 2, "issue", pyproject=settings(
        'deprecations-issue-label = ""'
    )),
    case("installer-unknown", 2, "plan", env={"NIGHTLY_INSTALLER": "conda"}),
    case("version-scheme-unknown", 2, "plan", env={"NIGHTLY_VERSION_SCHEME": "calendar"}),
    case("packages-bad-name", 2, "plan", env={"NIGHTLY_PACKAGES": "not a name!"}),
    case("index-url-not-a-url", 2, "plan", env={"NIGHTLY_INDEX_URL": "not-a-url"}),
    case("index-url-ftp", 2, "plan", env={"NIGHTLY_INDEX_URL": "ftp://127.0.0.1:1/simple/"}),
    case("base-index-url-without-scheme", 2, "plan", env={"NIGHTLY_BASE_INDEX_URL": "127.0.0.1:1/simple/"}),
    case("index-url-secret-userinfo", 3, "plan", env={"NIGHTLY_INDEX_URL": f"https://user:{SECRET}@127.0.0.1:1/simple/"}, secret=SECRET),
    case("index-url-secret-path", 3, "plan", env={"NIGHTLY_INDEX_URL": f"http://127.0.0.1:1/t/{SECRET}/simple/"}, secret=SECRET),
    case("index-url-secret-query", 3, "plan", env={"NIGHTLY_INDEX_URL": f"http://127.0.0.1:1/simple/?token={SECRET}"}, secret=SECRET),
    case("index-url-secret-not-a-url", 2, "plan", env={"NIGHTLY_INDEX_URL": f"htp://127.0.0.1:1/t/{SECRET}"}, secret=SECRET),
    # pyproject.toml
    case("pyproject-missing", 2, "plan", pyproject=None),
    case("pyproject-is-a-folder", 2, "plan", pyproject=DIRECTORY),
    case("pyproject-binary", 2, "plan", pyproject=b"\x00\x01\x02PK\x03\x04\x80\x81"),
    case("pyproject-utf16", 2, "plan", pyproject=b"\xff\xfe[\x00p\x00r\x00o\x00j\x00]\x00"),
    case("pyproject-bom", 2, "plan", pyproject=b"\xef\xbb\xbf" + VALID),
    case("pyproject-invalid-toml", 2, "plan", pyproject=b"[project\nname = demo\n"),
    case("pyproject-duplicate-key", 2, "plan", pyproject=VALID + b'name = "again"\n'),
    case("pyproject-project-not-a-table", 2, "plan", pyproject=b'project = "demo"\n'),
    case("pyproject-dependencies-not-a-list", 2, "plan", pyproject=b'[project]\nname = "demo"\ndependencies = "numpy"\n'),
    case("pyproject-bad-requirement", 2, "plan", pyproject=b'[project]\nname = "demo"\ndependencies = ["numpy >>> 1"]\n'),
    case("settings-not-a-table", 2, "plan", pyproject=VALID + b'[tool]\nnightly-sessions = "yes"\n'),
    case("settings-unknown-key", 2, "plan", pyproject=settings("retires = 3")),
    case("settings-retries-a-string", 2, "plan", pyproject=settings('retries = "three"')),
    case("settings-strict-a-number", 2, "plan", pyproject=settings("strict = 2")),
    case("settings-packages-a-number", 2, "plan", pyproject=settings("packages = 5")),
    case("settings-python-floats", 2, "plan", pyproject=settings("python = [3.12]")),
    case("settings-python-not-free-threaded", 2, "plan", pyproject=settings('python = ["3.14x"]')),
    case("settings-python-free-threaded-too-old", 2, "plan", pyproject=settings('python = ["3.12t"]')),
    case("settings-timeout-negative", 2, "plan", pyproject=settings("timeout = -1")),
    case("settings-pytest-args-a-number", 2, "plan", pyproject=settings("pytest-args = 1")),
    case("settings-allow-missing-a-table", 2, "plan", pyproject=settings("allow-missing = {numpy = true}")),
    case("settings-secret-index-url", 2, "plan", pyproject=settings(f'nightly-index-url = "htp://127.0.0.1:1/t/{SECRET}/simple"'), secret=SECRET),
]  # fmt: skip


def fill(text: str, places: Mapping[str, str]) -> str:
    """`text` with its {tmp}, {project}, {self} and {python} filled in."""
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def write_project(row: Case, tmp: Path) -> Path:
    """The row's project folder and files below `tmp`."""
    project = tmp / "project"
    project.mkdir()
    if row.pyproject == DIRECTORY:
        (project / "pyproject.toml").mkdir()
    elif row.pyproject is not None:
        (project / "pyproject.toml").write_bytes(row.pyproject)
    for name, data in row.files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    return project


def environment(tmp: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: loopback URLs on a closed port, no retries, the network guard."""
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp)), "LANG": "C.UTF-8",
        "PYTHONPATH": str(guard), "NIGHTLY_TEST_NETWORK_LOG": str(tmp / "network.log"),
        "NIGHTLY_RETRIES": "0", "NIGHTLY_TIMEOUT": "2", "UV_HTTP_RETRIES": "0",
        "NIGHTLY_INDEX_URL": f"{CLOSED}/nightly/simple/",
        "NIGHTLY_BASE_INDEX_URL": f"{CLOSED}/base/simple/",
        "NIGHTLY_ANACONDA_API_URL": f"{CLOSED}/api/",
        "GITHUB_API_URL": f"{CLOSED}/github/", "GITHUB_SERVER_URL": f"{CLOSED}/web/",
        "HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED, "ALL_PROXY": CLOSED,
        "NO_PROXY": "127.0.0.1,localhost", "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }  # fmt: skip
    return {**env, **extra}


def world_places(request: pytest.FixtureRequest, tmp: Path, project: Path) -> dict[str, str]:
    """The example project on loopback indexes with its nightlies, and an empty venv."""
    world = build_world(
        tmp / "world", request.getfixturevalue("base_index"),
        request.getfixturevalue("nightly_index"),
    )  # fmt: skip
    (project / "pyproject.toml").unlink()
    project.rmdir()
    world.project.rename(project)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "uv", "venv", "-q", str(venv)], check=True)
    return {
        "python": str(venv / "bin" / "python"),
        "NIGHTLY_INDEX_URL": world.nightly.url,
        "NIGHTLY_BASE_INDEX_URL": world.base.url,
    }


def run_row(
    row: Case, tmp: Path, request: pytest.FixtureRequest | None
) -> subprocess.CompletedProcess[str]:
    """Run the row's command line as a user would, in a clean loopback-only environment."""
    project = write_project(row, tmp)
    places = {"tmp": str(tmp), "project": str(project), "self": sys.executable}
    env_places: dict[str, str] = {}
    if row.world:
        assert request is not None, "a world row needs the index fixtures"
        found = world_places(request, tmp, project)
        places["python"] = found.pop("python")
        env_places = found
    env = {**env_places, **{name: fill(value, places) for name, value in row.env.items()}}
    args = [fill(arg, places) for arg in row.args]
    return subprocess.run(
        [sys.executable, "-m", "nightly_sessions", "--project", str(project), *args],
        cwd=tmp, env=environment(tmp, env), capture_output=True, text=True,
        errors="replace", timeout=120, check=False,
    )  # fmt: skip


EXCEPTION_REPR = re.compile(r"\b[A-Z]\w*(?:Error|Exception)(?:\(|: )")
DOES_SOMETHING = re.compile(
    r"\b(run|set|check|give|use|pass|add|fix|see|save|install|rebuild|remove|belong in)\b"
)


def starts_like_a_sentence(text: str) -> bool:
    """A capital letter or a number, or a name from the input: a path, an option, a table, a file."""
    first = text.split(maxsplit=1)[0] if text.strip() else "?"
    return first[0].isupper() or first[0].isdigit() or first[0] in "/-[`'" or "." in first


def sentence_of(stderr: str) -> str:
    """What nightly-sessions said last: the text after its last `nightly-sessions: ` prefix."""
    _, found, sentence = stderr.rpartition("nightly-sessions: ")
    assert found, f"no 'nightly-sessions: ' sentence in:\n{stderr}"
    return sentence.strip()


@pytest.mark.parametrize("row", CASES)
def test_bad_input_is_one_sentence_with_a_documented_code(
    row: Case, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    result = run_row(row, tmp_path, request)
    output = result.stdout + result.stderr
    assert result.returncode == row.code, output
    assert row.code in DOCUMENTED_CODES
    assert "Traceback" not in output
    assert not EXCEPTION_REPR.search(output), output
    sentence = sentence_of(result.stderr)
    assert starts_like_a_sentence(sentence), sentence
    assert sentence.endswith((".", "?")) or DOES_SOMETHING.search(sentence), sentence
    if row.secret:
        assert row.secret not in output
    assert not (tmp_path / "network.log").exists(), "a connection beyond loopback was tried"


def test_the_guard_refuses_and_records_a_connection_beyond_loopback(tmp_path: Path) -> None:
    row = Case("guard", 3, ("plan",), {"NIGHTLY_INDEX_URL": "https://example.invalid/simple/"})
    result = run_row(row, tmp_path, None)
    assert result.returncode == 3
    assert (tmp_path / "network.log").read_text() == "example.invalid\n"


def test_the_table_covers_every_command() -> None:
    rows = [param.values[0] for param in CASES]  # type: ignore[attr-defined]
    commands = {next((a for a in row.args if a in COMMANDS), None) for row in rows}
    assert set(COMMANDS) <= commands
    assert len(rows) >= 60
