"""The jobs that hold a token run nox from the hash-checked tool lock, never from uvx.

The upload job, the tracking-issue jobs and keepalive install
`.github/nightly-sessions-lock.txt` (rendered from template/.github/) with `uv pip sync
--require-hashes` into a venv under $RUNNER_TEMP, add nightly-sessions from the
noxfile's PEP 723 pin (git at the template's commit) with no index, no dependencies and
no build isolation, and run that venv's nox with NOX_SCRIPT_MODE=none. Here the install
step's exact script runs against a loopback index that holds exactly the locked files,
then a job's exact nox command against the GitHub stand-in, with every index out of
reach; a file whose hash does not match, a pin without a hash, or a dependency the
noxfile's block gained stops the install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from nightly_sessions.core.locks import TOOL_LOCK, hashed_requirements, locked_requirements
from nightly_sessions.testing.github import serve_github
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.template import GIT_ENV, ROOT, git, render
from nightly_sessions.testing.wheelhouse import download_wheels, make_wheel
from template.template_world import (
    COMBINATIONS,
    USER_NOXFILE,
    WORKFLOWS,
    make_package_repo,
    steps,
    workflow,
)

BIN = Path(sys.executable).parent
INSTALL_STEP = "Install nox and nightly-sessions from the lock (hash-checked)"
LOCKED_NOX = '"$RUNNER_TEMP/nightly-tools/bin/nox" '
INSTALL_SCRIPT = (
    'uv venv --python "$TOOL_PYTHON" "$RUNNER_TEMP/nightly-tools"\n'
    'uv pip sync --python "$RUNNER_TEMP/nightly-tools" --require-hashes'
    " .github/nightly-sessions-lock.txt\n"
    'uv pip install --python "$RUNNER_TEMP/nightly-tools" --no-index --no-deps'
    " --no-build-isolation --requirement {noxfile}\n"
)
# What installing nightly-sessions from git needs: the package, its metadata, the template.


def holds_a_token(job: dict[str, Any]) -> bool:
    """Whether a step of `job` is handed a secret or the job's GITHUB_TOKEN."""
    return any(
        "secrets." in str(value) or "github.token" in str(value)
        for step in steps(job)
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]
    )


def token_jobs(project: Path) -> dict[str, dict[str, Any]]:
    return {
        f"{name}:{job_name}": job
        for name in WORKFLOWS
        for job_name, job in workflow(project, name)["jobs"].items()
        if holds_a_token(job)
    }


def test_every_token_job_runs_nox_from_the_hash_checked_lock(rendered: dict[str, Path]) -> None:
    seen = set()
    for combination, project in rendered.items():
        noxfile = COMBINATIONS[combination].get("noxfile", "noxfile.py")
        jobs = token_jobs(project)
        assert jobs, combination
        for where, job in jobs.items():
            seen.add(where.split(":")[1])
            names = [step.get("name") for step in steps(job)]
            install = steps(job)[names.index(INSTALL_STEP)]
            assert install["run"] == INSTALL_SCRIPT.format(noxfile=noxfile), where
            assert install["env"] == {"TOOL_PYTHON": "3.13"}  # no URL: the noxfile has it
            runs = [step for step in steps(job) if "nox" in step.get("run", "")]
            assert runs, where
            for step in runs:
                if step is install:
                    continue
                # After the install; that venv's nox; no script-mode environment.
                assert names.index(step["name"]) > names.index(INSTALL_STEP), where
                assert step["run"].startswith(LOCKED_NOX), f"{where}: {step['run']}"
                assert "uvx" not in step["run"]
                assert step["env"]["NOX_SCRIPT_MODE"] == "none", where
            if noxfile == "noxfile_nightly.py":
                assert all("--noxfile noxfile_nightly.py " in s["run"] for s in runs[1:])
        # The lock the steps read is the template's, as `copier update` brings it.
        lock = project / ".github" / "nightly-sessions-lock.txt"
        assert lock.read_bytes() == (ROOT / TOOL_LOCK).read_bytes()
        # Jobs without a token keep uvx: nothing there to steal.
        for name in WORKFLOWS:
            for job_name, job in workflow(project, name)["jobs"].items():
                if f"{name}:{job_name}" not in jobs:
                    assert INSTALL_STEP not in [step.get("name") for step in steps(job)]
    assert seen == {"upload", "report", "keepalive", "last-green"}


def test_the_upload_action_job_checks_the_files_with_the_locked_nox(
    rendered: dict[str, Path],
) -> None:
    """With upload-nightly-action, check_dist runs in the job that hands it the token."""
    project = rendered["pure-auto-one"]  # upload_with: action (the default)
    upload = workflow(project, "nightly-wheels.yml")["jobs"]["upload"]
    [action] = [step for step in steps(upload) if "upload-nightly-action" in step.get("uses", "")]
    assert "secrets." in action["with"]["anaconda_nightly_upload_token"]
    [check] = [step for step in steps(upload) if "check_dist" in step.get("run", "")]
    assert check["run"].startswith(LOCKED_NOX)


def test_the_upload_action_job_checks_the_token_first_with_the_locked_nox(
    rendered: dict[str, Path],
) -> None:
    """Before upload-nightly-action gets the token, nightly_token checks its expiry and
    scopes: the same locked nox, the token in `env:` only, never in `run:`."""
    project = rendered["pure-auto-one"]  # upload_with: action (the default)
    upload = workflow(project, "nightly-wheels.yml")["jobs"]["upload"]
    [action] = [step for step in steps(upload) if "upload-nightly-action" in step.get("uses", "")]
    [token] = [step for step in steps(upload) if "nightly_token" in step.get("run", "")]
    assert token["run"] == LOCKED_NOX + "--session nightly_token"
    assert token["env"] == {
        "ANACONDA_ORG_UPLOAD_TOKEN": "${{ secrets.ANACONDA_ORG_UPLOAD_TOKEN }}",
        "NIGHTLY_REPORT_DIR": "nightly-reports",
        "NOX_SCRIPT_MODE": "none",
    }
    assert "if" not in token  # a failed check (expired, a missing scope) skips the action
    assert steps(upload).index(token) < steps(upload).index(action)


# The install step and a token job's nox command, run for real.


@pytest.fixture(scope="module")
def package_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nightly-sessions itself (package and template) as a git repository tagged v1."""
    return make_package_repo(tmp_path_factory.mktemp("locked-tools"))


def render_project(package_repo: Path, folder: Path, noxfile: str = "noxfile.py") -> Path:
    if noxfile == "noxfile_nightly.py":
        folder.mkdir(parents=True)
        (folder / "noxfile.py").write_text(USER_NOXFILE, encoding="utf-8")
    return render(package_repo, folder, upload_with="session", noxfile=noxfile)


def pins_here() -> dict[str, str]:
    """The lock's pins for this Python and platform: name -> version."""
    environment = {str(k): str(v) for k, v in default_environment().items()}
    pins: dict[str, str] = {}
    for line in locked_requirements(ROOT / TOOL_LOCK):
        pin = Requirement(line)
        if pin.marker is None or pin.marker.evaluate(environment):
            [specifier] = list(pin.specifier)
            pins[canonicalize_name(pin.name)] = specifier.version
    return pins


@pytest.fixture(scope="module")
def locked_files() -> Path:
    """The locked files for this Python and platform, from PyPI once (then cached)."""
    return download_wheels(locked_requirements(ROOT / TOOL_LOCK))


@pytest.fixture
def index(tmp_path: Path, locked_files: Path) -> Iterator[PypiServer]:
    """The PyPI stand-in: exactly the locked files, nothing else."""
    folder = shutil.copytree(locked_files, tmp_path / "index")
    with serve_directory(folder) as server:
        yield server


def job_steps(project: Path, workflow_name: str, job: str) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in steps(workflow(project, workflow_name)["jobs"][job])}


def step_env(step: dict[str, Any]) -> dict[str, str]:
    """The step's own environment, without the values GitHub fills in."""
    return {k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)}


def runner_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A runner's environment: uv (setup-uv's) on PATH, RUNNER_TEMP, no outer nox or venv."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOX_", "VIRTUAL_ENV"))}
    clean.pop("PYTHONPATH", None)
    return {
        **clean,
        **GIT_ENV,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),  # nothing installed before counts
        **extra,
    }


def install(project: Path, tmp_path: Path, index: PypiServer) -> subprocess.CompletedProcess[str]:
    """The keepalive job's install step, its script verbatim; this Python as the tool Python."""
    step = job_steps(project, "nightly-wheels.yml", "keepalive")[INSTALL_STEP]
    env = runner_env(
        tmp_path, **{**step_env(step), "TOOL_PYTHON": sys.executable}, UV_DEFAULT_INDEX=index.url
    )
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.integration
def test_the_index_holds_exactly_the_locked_files(locked_files: Path) -> None:
    """Downloading the pins with their dependencies brings nothing the lock lacks."""
    pins = pins_here()
    found = {}
    for path in locked_files.iterdir():
        if path.name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
        found[name] = str(version)
    assert found == pins


@pytest.mark.integration
@pytest.mark.parametrize("noxfile", ["noxfile.py", "noxfile_nightly.py"])
def test_a_token_job_installs_the_lock_and_runs_its_nox_offline(
    noxfile: str, package_repo: Path, tmp_path: Path, index: PypiServer
) -> None:
    project = render_project(package_repo, tmp_path / "project", noxfile)
    installed = install(project, tmp_path, index)
    output = installed.stdout + installed.stderr
    assert installed.returncode == 0, output
    venv = tmp_path / "runner-temp" / "nightly-tools"
    freeze = subprocess.run(
        [str(BIN / "uv"), "pip", "freeze", "--python", str(venv)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    versions = dict(line.split("==") for line in freeze if "==" in line)
    assert {canonicalize_name(k): v for k, v in versions.items()} == pins_here()
    [own] = [line for line in freeze if line.startswith("nightly-sessions @ ")]
    assert list(venv.glob("lib/python*/site-packages/nightly_sessions"))
    commit = git(package_repo, "rev-parse", "v1")
    assert own == f"nightly-sessions @ git+file://{package_repo}@{commit}"  # the noxfile's pin
    steps_here = job_steps(project, "nightly-wheels.yml", "keepalive")

    # The job's own nox step, verbatim, with every index out of reach: the venv's nox runs
    # the generated noxfile and installs nothing (no script-mode environment).
    step = steps_here["Enable the scheduled nightly workflows"]
    with serve_github(repository="example-org/skymap", permissions={"actions": "write"}) as github:
        for name in WORKFLOWS:
            github.add_workflow(name, state="disabled_inactivity")
        env = runner_env(
            tmp_path,
            **step_env(step),
            GITHUB_TOKEN=github.token,
            GITHUB_API_URL=github.url,
            GITHUB_REPOSITORY=github.repository,
            UV_OFFLINE="1",
            PIP_NO_INDEX="1",
        )
        assert env["NOX_SCRIPT_MODE"] == "none"  # from the step itself
        ran = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        enabled = {w.path: (w.state, w.enabled) for w in github.workflows.values()}
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert enabled == dict.fromkeys(WORKFLOWS, ("active", 1))
    assert github.token not in output
    assert not (project / ".nox" / "_nox_script_mode").exists()
    assert "nightly_keepalive" in output


def without_hashes(lock: Path, name: str) -> str:
    """The lock's text with every hash of `name`'s pins left out."""
    lines = []
    for line, hashes in hashed_requirements(lock):
        kept = [] if canonicalize_name(Requirement(line).name) == name else hashes
        lines.append(" \\\n".join([line, *(f"    --hash=sha256:{h}" for h in kept)]))
    return "\n".join(lines) + "\n"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("tampered-file", "Hash mismatch for `attrs=="),
        ("pin-without-hash", "must have a hash, but none were provided for: attrs=="),
        ("unlocked-dependency", "attrs was not found in the provided package locations"),
    ],
)
def test_the_install_stops_on_a_file_the_lock_does_not_vouch_for(
    fault: str, message: str, package_repo: Path, tmp_path: Path, index: PypiServer
) -> None:
    """A file whose hash does not match the lock, a pin with no hash at all, or a
    requirement added to the noxfile's block (which only the index could serve)."""
    project = render_project(package_repo, tmp_path / "project")
    attrs = pins_here()["attrs"]
    if fault == "tampered-file":  # same name on the index, other contents
        [real] = index.directory.glob(f"attrs-{attrs}-*.whl")
        real.unlink()
        made = make_wheel(index.directory, "attrs", attrs)
        assert made.name == real.name
    elif fault == "pin-without-hash":
        lock = project / ".github" / "nightly-sessions-lock.txt"
        lock.write_text(without_hashes(lock, "attrs"), encoding="utf-8")
    else:  # the lock has attrs at one version; the block now asks for another
        noxfile = project / "noxfile.py"
        text = noxfile.read_text(encoding="utf-8")
        line = re.search(r'^#     "nox==[\d.]+",\n', text, flags=re.MULTILINE)
        assert line is not None, text
        noxfile.write_text(text.replace(line[0], line[0] + '#     "attrs<20",\n'), "utf-8")
    installed = install(project, tmp_path, index)
    output = installed.stdout + installed.stderr
    assert installed.returncode != 0, output
    assert message in " ".join(output.split()), output  # uv wraps its lines
    venv = tmp_path / "runner-temp" / "nightly-tools"
    assert not list(venv.glob("lib/python*/site-packages/nightly_sessions"))
    if fault != "unlocked-dependency":  # the lock itself was refused
        assert not (venv / "bin" / "nox").exists()
