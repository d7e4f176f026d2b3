"""The table of action pins (copier-includes/pins.jinja) and the script that refreshes it.

Every `uses:` of a rendered workflow must come from the table, and no pinned action may
run on a Node runtime GitHub retires: the table's recorded runtime is checked against a
committed snapshot of each action's action.yml at the pinned commit.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sample_reports import report_bytes

from maintainer.refresh_pins import (
    SNAPSHOTS,
    TABLE,
    GitHub,
    Pin,
    RefreshError,
    check_runtime,
    nested_pins,
    read_table,
    refresh,
    replace_table,
    retired_runtime,
    runs_using,
    snapshot_path,
)
from nightly_sessions.testing.template import ROOT, render
from nightly_sessions.tracking.job_reports import load_jobs

USES = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v?\d+(?:\.\d+)*)\s*$")
PINS = read_table(ROOT)


def pin_problems(pin: Pin, root: Path) -> list[str]:
    """Why `pin` may not be in the table: a retired runtime, or a snapshot that disagrees."""
    problems = []
    if retired_runtime(pin.runtime):
        problems.append(f"{pin.action} {pin.version} runs on {pin.runtime}, which is retired")
    pending = [(pin.action, "", pin.sha, pin.runtime)]
    while pending:
        action, subpath, sha, recorded = pending.pop()
        path = snapshot_path(root, action, sha, subpath)
        if not path.is_file():
            problems.append(f"no action.yml snapshot of {action}@{sha} ({path})")
            continue
        text = path.read_text(encoding="utf-8")
        using = runs_using(text)
        if recorded and using != recorded:
            problems.append(f"{action}@{sha} runs on {using}, the table says {recorded}")
        if retired_runtime(using):
            problems.append(f"{action}@{sha} runs on {using}, which is retired")
        pending.extend((a, s, h, "") for a, s, h in nested_pins(text))
    return problems


def test_every_row_is_a_full_sha_pin_of_a_release() -> None:
    assert len(PINS) >= 6
    assert len({pin.key for pin in PINS}) == len(PINS)
    for pin in PINS:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", pin.action), pin
        assert re.fullmatch(r"[0-9a-f]{40}", pin.sha), pin
        assert re.fullmatch(r"v?\d+(\.\d+)*", pin.version), pin


def test_no_pinned_action_runs_on_a_retired_node_runtime() -> None:
    """The recorded runtime, the snapshot's runs.using and a composite's own pins agree."""
    for pin in PINS:
        assert pin_problems(pin, ROOT) == [], pin


@pytest.mark.parametrize("using", ["node12", "node16", "node20", "Node20"])
def test_node20_and_older_are_refused(using: str) -> None:
    assert retired_runtime(using)
    with pytest.raises(RefreshError, match=f"runs on {using}, which GitHub retires"):
        check_runtime("actions/upload-artifact", "v4.6.2", using)


@pytest.mark.parametrize("using", ["node24", "node26", "composite", "docker"])
def test_current_runtimes_pass(using: str) -> None:
    assert not retired_runtime(using)
    check_runtime("actions/checkout", "v7.0.1", using)


def test_a_node20_row_fails_the_table_check(tmp_path: Path) -> None:
    old = Pin("upload-artifact", "actions/upload-artifact", "v4.6.2", "e" * 40, "node20")
    snapshot = snapshot_path(tmp_path, old.action, old.sha)
    snapshot.parent.mkdir(parents=True)
    snapshot.write_text("runs:\n  using: 'node20'\n  main: 'dist/upload/index.js'\n")
    assert pin_problems(old, tmp_path) == [
        "actions/upload-artifact v4.6.2 runs on node20, which is retired",
        f"actions/upload-artifact@{'e' * 40} runs on node20, which is retired",
    ]
    # Recording node24 for it does not help: the snapshot says what really runs.
    assert pin_problems(replace(old, runtime="node24"), tmp_path) == [
        f"actions/upload-artifact@{'e' * 40} runs on node20, the table says node24",
        f"actions/upload-artifact@{'e' * 40} runs on node20, which is retired",
    ]
    assert pin_problems(replace(old, sha="f" * 40, runtime="node24"), tmp_path)[0].startswith(
        f"no action.yml snapshot of actions/upload-artifact@{'f' * 40}"
    )


def test_a_composite_action_is_as_current_as_the_actions_it_uses(tmp_path: Path) -> None:
    upload = next(pin for pin in PINS if pin.runtime == "composite")
    source = snapshot_path(ROOT, upload.action, upload.sha)
    [(nested, subpath, sha)] = nested_pins(source.read_text())
    assert (nested, subpath) == ("prefix-dev/setup-pixi", "")
    copy = snapshot_path(tmp_path, upload.action, upload.sha)
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    inner = snapshot_path(tmp_path, nested, sha)
    inner.parent.mkdir(parents=True)
    inner.write_text("runs:\n  using: node20\n  main: dist/index.js\n")
    assert pin_problems(upload, tmp_path) == [
        f"prefix-dev/setup-pixi@{sha} runs on node20, which is retired"
    ]


@pytest.mark.integration
def test_every_uses_line_of_the_rendered_workflows_is_a_row(
    template_repo: Path, tmp_path: Path
) -> None:
    """The default answers use every action; each `uses:` is exactly a row of the table."""
    project = render(template_repo, tmp_path / "project")
    rows = {(pin.action, pin.sha, pin.version) for pin in PINS}
    used = set()
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        for line in path.read_text().splitlines():
            if "uses:" in line:
                match = USES.match(line)
                assert match, f"{path.name}: {line}"
                assert match.groups() in rows, f"{path.name}: {line}"
                used.add(match.groups())
    assert used == rows


@pytest.mark.parametrize("layout", ["v4", "v5+"])
def test_the_report_job_reads_one_artifact_as_it_reads_several(tmp_path: Path, layout: str) -> None:
    """download-artifact v5+ puts a lone artifact a pattern matches straight into `path`.

    v4 always made `path/<artifact name>/`. Each job's report sits in a folder of its
    own job's name inside the artifact, so the tracking issue names it either way.
    """
    artifact = tmp_path if layout == "v5+" else tmp_path / "nightly-reports-py3.13-Linux"
    (artifact / "py3.13-Linux").mkdir(parents=True)
    (artifact / "py3.13-Linux" / "nightly-report.json").write_bytes(report_bytes("py3.13-Linux"))
    (artifact / "py3.14-Linux").mkdir()
    (artifact / "py3.14-Linux" / "nightly-report.json").write_text("{")  # cut short
    jobs = load_jobs(tmp_path, expected=["py3.13-Linux", "py3.14-Linux"])
    assert [(job.job, job.outcome) for job in jobs] == [
        ("py3.13-Linux", "passed"),
        ("py3.14-Linux", "absent"),
    ]
    assert jobs[1].problem != "no report was uploaded for this job"


def test_the_script_writes_the_table_exactly_as_committed() -> None:
    source = (ROOT / TABLE).read_text()
    assert replace_table(source, PINS) == source


def test_a_rewritten_table_renders_the_new_pins(tmp_path: Path) -> None:
    (tmp_path / TABLE).parent.mkdir(parents=True)
    moved = [replace(PINS[0], version="v99.0.0", sha="a" * 40)]
    (tmp_path / TABLE).write_text(replace_table((ROOT / TABLE).read_text(), moved))
    assert read_table(tmp_path) == moved
    with pytest.raises(RefreshError, match="no PIN_TABLE block"):
        replace_table("{#- nothing -#}\n", moved)


# The GitHub REST API on loopback: canned answers and the requests seen.
ACTION_YML = "runs:\n  using: {}\n  main: dist/index.js\n"
COMPOSITE_YML = """runs:
  using: composite
  steps:
    - uses: example/inner/sub@{sha}
    - uses: ./local
    - run: echo hi
      shell: bash
"""
NEW = "1" * 40
ANNOTATED = "2" * 40
INNER = "3" * 40


def contents(text: str) -> dict[str, str]:
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


ROUTES: dict[str, Any] = {
    # A lightweight tag of a node24 action.
    "/repos/example/fresh/releases/latest": {"tag_name": "v7.0.1"},
    "/repos/example/fresh/git/ref/tags/v7.0.1": {"object": {"type": "commit", "sha": NEW}},
    f"/repos/example/fresh/contents/action.yml?ref={NEW}": contents(ACTION_YML.format("node24")),
    # An annotated tag of a composite action whose own step uses a node24 action.
    "/repos/example/annotated/releases/latest": {"tag_name": "v3.0.0"},
    "/repos/example/annotated/git/ref/tags/v3.0.0": {"object": {"type": "tag", "sha": "9" * 40}},
    f"/repos/example/annotated/git/tags/{'9' * 40}": {
        "object": {"type": "commit", "sha": ANNOTATED}
    },
    f"/repos/example/annotated/contents/action.yml?ref={ANNOTATED}": contents(
        COMPOSITE_YML.format(sha=INNER)
    ),
    f"/repos/example/inner/contents/sub/action.yml?ref={INNER}": contents(
        ACTION_YML.format("node24")
    ),
    # No releases: the newest version tag; it still runs on node20.
    "/repos/example/stale/tags?per_page=100": [{"name": "v9.1.0"}, {"name": "v10.0.0"}],
    "/repos/example/stale/git/ref/tags/v10.0.0": {"object": {"type": "commit", "sha": "4" * 40}},
    f"/repos/example/stale/contents/action.yml?ref={'4' * 40}": contents(
        ACTION_YML.format("node20")
    ),
}


class _GitHubApi(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        answer = ROUTES.get(self.path)
        body = json.dumps(answer if answer is not None else {"message": "Not Found"}).encode()
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def github_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHubApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _GitHubApi.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_refresh_moves_each_pin_to_its_release_and_refuses_node20(
    tmp_path: Path, github_api: str
) -> None:
    old = [
        Pin("fresh", "example/fresh", "v5.0.0", "a" * 40, "node24"),
        Pin("annotated", "example/annotated", "v2.0.0", "b" * 40, "composite"),
        Pin("stale", "example/stale", "v9.0.0", "c" * 40, "node24"),
    ]
    (tmp_path / TABLE).parent.mkdir(parents=True)
    (tmp_path / TABLE).write_text(replace_table((ROOT / TABLE).read_text(), old))
    lines: list[str] = []
    token = "ghp_secret-value"

    code = refresh(tmp_path, GitHub(github_api, token=token), log=lines.append)

    assert code == 1
    assert read_table(tmp_path) == [
        replace(old[0], version="v7.0.1", sha=NEW),
        replace(old[1], version="v3.0.0", sha=ANNOTATED),
        old[2],  # refused: kept as it was
    ]
    assert lines[0] == f"example/fresh: v5.0.0 -> v7.0.1 ({NEW[:7]}, node24)"
    assert lines[2].startswith("example/stale: kept at v9.0.0: example/stale v10.0.0 runs on")
    assert token not in "\n".join(lines)
    assert {auth for _, auth in _GitHubApi.seen} == {f"Bearer {token}"}
    written = sorted(p.relative_to(tmp_path / SNAPSHOTS) for p in tmp_path.rglob("*.yml"))
    assert [p.as_posix() for p in written] == [
        f"example/annotated/{ANNOTATED}.yml",
        f"example/fresh/{NEW}.yml",
        f"example/inner/sub/{INNER}.yml",
    ]


def test_an_unreachable_api_is_one_sentence() -> None:
    github = GitHub("http://127.0.0.1:9", timeout=5)
    with pytest.raises(RefreshError, match=r"needs network access to http://127\.0\.0\.1:9"):
        github.latest_release("example/fresh")
