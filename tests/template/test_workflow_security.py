"""The generated workflows are safe to run: valid (the GitHub schema), lint clean (zizmor),
least-privilege, SHA-pinned, with no GitHub expression in a shell line, and acting
upstream (uploads, tracking issues, keepalive) only from the default branch of the
answered repository, never from a fork or another branch.

Every answer combination's workflows are checked in one check-jsonschema and one zizmor run.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace

import jinja2
import yaml

from nightly_sessions.testing.template import ANSWERS_FILE, ROOT
from template.template_world import (
    BIN,
    COMBINATIONS,
    REPOSITORY,
    acts_upstream,
    nox_steps,
    run_tool,
    steps,
    workflow,
    workflow_files,
)

SHA_PIN = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v?\d+(\.\d+)*\s*$")


def test_workflows_validate_against_the_github_schema(rendered: dict[str, Path]) -> None:
    files = workflow_files(rendered)
    result = run_tool(
        BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dependabot = [p / ".github" / "dependabot.yml" for p in rendered.values()]
    present = [path for path in dependabot if path.exists()]
    result = run_tool(BIN / "check-jsonschema", "--builtin-schema", "vendor.dependabot", *present)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_findings(rendered: dict[str, Path]) -> None:
    result = run_tool(
        BIN / "zizmor", "--offline", "--no-config", "--format", "json", *rendered.values()
    )
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_template_sources_use_one_escaping_rule() -> None:
    """GitHub's `${{` is never plain template text: only Jinja prints it, as '${{'."""
    sources = [*(ROOT / "template").rglob("*.jinja"), *(ROOT / "copier-includes").glob("*")]
    assert sources
    lexer = jinja2.Environment()
    for path in sources:
        text = path.read_text()
        assert "{% raw" not in text, path
        tokens = list(lexer.lex(text))
        for (line, kind, value), (_, following, _) in itertools.pairwise(tokens):
            # "${{ x }}" written plainly lexes as the text "$" and then a Jinja expression.
            unescaped = value.endswith("$") and following == "variable_begin"
            assert not (kind == "data" and unescaped), f"{path}:{line}: raw ${{{{"


def test_every_action_is_pinned_by_commit_sha_with_its_version(rendered: dict[str, Path]) -> None:
    for path in workflow_files(rendered):
        uses = [line for line in path.read_text().splitlines() if "uses:" in line]
        assert uses
        for line in uses:
            assert SHA_PIN.match(line), f"{path}: {line}"
    wheels = (rendered["pure-auto-one"] / ".github/workflows/nightly-wheels.yml").read_text()
    assert (
        "scientific-python/upload-nightly-action@e76cfec8a4611fd02808a801b0ff5a7d7c1b2d99 # 0.6.4"
        in wheels
    )


def test_every_pinned_action_is_used(rendered: dict[str, Path]) -> None:
    """No pin lingers that no workflow uses (nobody would notice it going stale)."""
    table = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT))
    module = table.get_template("copier-includes/pins.jinja").module
    pins = set(module.PINS.values())  # type: ignore[attr-defined]
    assert len(pins) >= 6, pins
    used = {
        line.split("uses:", 1)[1].strip()
        for path in workflow_files(rendered)
        for line in path.read_text().splitlines()
        if "uses:" in line
    }
    assert set(pins) == used


def test_workflows_hold_least_privilege_and_pass_values_through_env(
    rendered: dict[str, Path],
) -> None:
    for path in workflow_files(rendered):
        text = path.read_text()
        assert not re.search(r"\{%|\{#|\{\{ *'", text), f"{path}: Jinja left in the output"
        data = yaml.safe_load(text)
        assert data["permissions"] == {}
        assert data["concurrency"]["group"]
        for name, job in data["jobs"].items():
            assert "permissions" in job, f"{path}: job {name} inherits permissions"
            assert job.get("timeout-minutes"), f"{path}: job {name} has no timeout"
            for step in steps(job):
                assert "${{" not in step.get("run", ""), f"{path}: {step['name']}"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
                if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                    assert step["with"]["version"] == "0.13.8"  # = the uv pin of the test extra


def test_keepalive_job_holds_actions_write_alone_and_names_real_files(
    rendered: dict[str, Path],
) -> None:
    for name, project in rendered.items():
        wanted = COMBINATIONS[name].get("keepalive", True)
        for path in (project / ".github" / "workflows").glob("*.yml"):
            jobs = yaml.safe_load(path.read_text())["jobs"]
            assert ("keepalive" in jobs) == wanted, f"{name}: {path.name}"
            writers = [n for n, job in jobs.items() if "actions" in job["permissions"]]
            for job_name in writers:
                level = jobs[job_name]["permissions"]["actions"]
                assert level == ("write" if job_name == "keepalive" else "read"), job_name
            if not wanted:
                continue
            job = jobs["keepalive"]
            assert job["permissions"] == {"contents": "read", "actions": "write"}
            assert job["if"] == (
                "${{ github.event_name == 'schedule' && "
                "github.repository == 'example-org/skymap' }}"
            )
            arguments, step = nox_steps(job)["nightly_keepalive"]
            assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}", "NOX_SCRIPT_MODE": "none"}
            files = shlex.split(arguments.removeprefix("-- "))
            assert sorted(files) == sorted(p.name for p in path.parent.glob("nightly-*.yml"))


GITHUB_EXPRESSION = re.compile(r"^(\s+|[\w.]+(\(\))?|'[^']*'|==|&&|\|\||!|\(|\)|,)*$")


def runs(condition: str, event: str, ref: str, repository: str = REPOSITORY) -> bool:
    """Evaluate a job's `if:` for a run of `event` on `ref`, the default branch being main.

    Only the operators the workflows use (&&, ||, ==, format, the status functions) are
    translated; anything else fails the check below instead of being misread.
    """
    expression = condition.removeprefix("${{").removesuffix("}}")
    assert GITHUB_EXPRESSION.match(expression), expression
    python = (
        expression.replace("&&", " and ")
        .replace("||", " or ")
        .replace("!cancelled()", "True")
        .replace("always()", "True")
    )
    github = SimpleNamespace(
        event_name=event,
        ref=ref,
        repository=repository,
        event=SimpleNamespace(repository=SimpleNamespace(default_branch="main")),
    )
    needs = SimpleNamespace(build=SimpleNamespace(result="success"))  # upload_when all
    names = {"github": github, "needs": needs, "format": lambda text, *args: text.format(*args)}
    return bool(eval(python, {"__builtins__": {}}, names))


def test_only_the_default_branch_uploads_and_reports(rendered: dict[str, Path]) -> None:
    """A manual run from another branch builds and tests, but never uploads nor reports."""
    acting = {"upload": "!cancelled()", "report": "always()"}
    checked = set()
    for path in workflow_files(rendered):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if name not in acting:
                # Jobs that only read: always, on the schedule, or as the trigger decides.
                condition = job.get("if", "")
                gated = condition == "${{ needs.trigger.outputs.run == 'true' }}"
                assert not condition or "schedule" in condition or gated, f"{path}: {name}"
                continue
            checked.add((path.name, name))
            condition = job["if"]
            # upload_when all: the upload also waits for every build job to succeed.
            every_build = acts_upstream("!cancelled() && needs.build.result == 'success'")
            if not (name == "upload" and condition == every_build):
                assert condition == acts_upstream(acting[name]), f"{path}: {name}"
            assert runs(condition, "schedule", "refs/heads/main")
            assert runs(condition, "workflow_dispatch", "refs/heads/main")
            assert not runs(condition, "workflow_dispatch", "refs/heads/my-feature")
            assert not runs(condition, "workflow_dispatch", "refs/tags/main")
            assert not runs(condition, "push", "refs/heads/main")
            assert not runs(condition, "schedule", "refs/heads/main", repository="fork/skymap")
    assert checked == {
        ("nightly-tests.yml", "report"), ("nightly-wheels.yml", "upload"),
        ("nightly-wheels.yml", "report"),
    }  # fmt: skip


REPOSITORY_CHECK = "Check that this is the repository of the template's answer"


def step_runs(condition: str, repository: str, *, fork: bool = False, index: int = 0) -> bool:
    """Evaluate the repository check's `if:` for a run in `repository`."""
    expression = condition.removeprefix("${{").removesuffix("}}").strip()
    python = (
        expression.replace("!github.event.repository.fork", "not fork")
        .replace("strategy.job-index", "index")
        .replace("github.repository", "repository")
        .replace("&&", " and ")
    )
    assert re.fullmatch(r"(\s+|and|not|fork|index|repository|!=|==|'[^']*'|\d+)*", python), python
    names = {"repository": repository, "fork": fork, "index": index}
    return bool(eval(python, {"__builtins__": {}}, names))


def test_a_repository_answer_that_does_not_match_is_a_warning(rendered: dict[str, Path]) -> None:
    """The guarded jobs skip silently in a repository other than the answer: the first job
    of the tests and of the build matrix says so, with the fix, unless it runs in a fork."""
    for name, project in rendered.items():
        for workflow_name, job_name in (
            ("nightly-tests.yml", "tests"),
            ("nightly-wheels.yml", "build"),
        ):
            jobs = workflow(project, workflow_name)["jobs"]
            guarded = sorted(
                job for job, data in jobs.items()
                if f"github.repository == '{REPOSITORY}'" in data.get("if", "")
            )  # fmt: skip
            found = [step for step in steps(jobs[job_name]) if step["name"] == REPOSITORY_CHECK]
            if not guarded:
                assert found == [], f"{name}: {workflow_name}"
                continue
            assert found == steps(jobs[job_name])[:1], f"{name}: {workflow_name}"
            step = found[0]
            assert step["env"] == {"ANSWER": REPOSITORY}
            condition = step["if"]
            assert not step_runs(condition, REPOSITORY)
            assert step_runs(condition, "someone/skymap")
            assert not step_runs(condition, "someone/skymap", fork=True)
            assert not step_runs(condition, "someone/skymap", index=1)  # once per matrix
            result = subprocess.run(
                ["bash", "-c", step["run"]],
                env={**os.environ, "ANSWER": REPOSITORY, "GITHUB_REPOSITORY": "someone/skymap"},
                capture_output=True,
                text=True,
                check=True,
            )
            [line] = result.stdout.splitlines()
            assert line.startswith(
                "::warning title=Nightly jobs skipped in this repository::This repository is "
                f"someone/skymap, but the nightly-sessions template was answered repository="
                f"{REPOSITORY}, and the "
            )
            named = re.findall(r"(?:the |, | and )(\w+)(?= \(|(?: jobs?)? run)", line)
            assert sorted(named) == guarded, line
            assert line.endswith(
                "If this is the upstream repository, fix the answer: copier update --trust "
                f"--defaults --answers-file {ANSWERS_FILE} --data repository=someone/skymap"
            )
