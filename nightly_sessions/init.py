"""`python -m nightly_sessions init`: `copier copy` with answers read from the project.

Copier shows a template only the destination's path, never its files, so the template's
own defaults can see which files exist (and avoid them) but not read pyproject.toml or
the git remote. This command reads them, the project name from [project] and the
GitHub repository from the `origin` remote, and runs (or prints) the `copier copy` that
answers them; everything else keeps the template's defaults.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.errors import ConfigError, ToolError
from nightly_sessions.core.pyproject import read_pyproject, table
from nightly_sessions.core.redact import redact
from nightly_sessions.core.repositories import github_repository
from nightly_sessions.wheels.build import compiled_reason


@dataclass(frozen=True)
class Source:
    """Where the template comes from: a git URL and the commit, if known."""

    url: str
    ref: str | None = None


def installed_source(direct_url: str | None) -> Source | None:
    """The git URL and commit nightly-sessions was installed from (PEP 610), if any: the
    template lives in the same repository, so the library and the workflows match.
    """
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except json.JSONDecodeError:
        return None
    vcs = data.get("vcs_info") if isinstance(data, dict) else None
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git" or not isinstance(data["url"], str):
        return None
    commit = vcs.get("commit_id")
    return Source(data["url"], commit if isinstance(commit, str) else None)


def _direct_url() -> str | None:
    try:
        return metadata.distribution("nightly-sessions").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None


def origin_url(root: Path) -> str | None:
    """The `origin` remote's URL of the git repository at `root`, if there is one."""
    git = shutil.which("git")
    if git is None:
        return None
    command = [git, "-C", str(root), "remote", "get-url", "origin"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def detect_answers(root: Path, origin: str | None) -> dict[str, str]:
    """The answers the project itself gives: its name, its GitHub repository, and whether
    it has compiled code (as the build decides it, which copier alone cannot read)."""
    answers: dict[str, str] = {}
    name = table(read_pyproject(root / "pyproject.toml"), "project").get("name")
    if isinstance(name, str) and name.strip():
        answers["project_name"] = name.strip()
    repository = github_repository(origin) if origin else None
    if repository:
        answers["repository"] = repository
    answers["compiled"] = "true" if compiled_reason(root) else "false"
    if tox_configuration(root):
        answers["runner"] = "tox"
    return answers


def tox_configuration(root: Path) -> str | None:
    """Where the project configures tox, if it does (tox's own places); copier alone sees
    tox.ini and tox.toml, not [tool.tox] or [tox:tox] inside a file."""
    for name in ("tox.ini", "tox.toml"):
        if (root / name).is_file():
            return name
    if "tox" in table(read_pyproject(root / "pyproject.toml"), "tool"):
        return "[tool.tox] of pyproject.toml"
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file() and "[tox:tox]" in setup_cfg.read_text(errors="replace"):
        return "[tox:tox] of setup.cfg"
    return None


def runner_line(root: Path) -> str:
    """The `runner` answer and why, as init prints it."""
    return (
        f"runner: tox ({tox_configuration(root)}: the tests workflow runs a tox env with the "
        "nightly-sessions plugin)"
    )


def compiled_line(root: Path) -> str:
    """The `compiled` answer and why, as init prints it."""
    reason = compiled_reason(root)
    if reason:
        return f"compiled: true ({reason}: cibuildwheel builds the wheels)"
    return "compiled: false (no compiled code found: one pure-Python wheel)"


def copier_command(
    copier: Sequence[str], source: Source, answers: Mapping[str, str], destination: Path
) -> list[str]:
    """The `copier copy` that applies `answers` and the template's defaults for the rest."""
    command = [*copier, "copy", "--trust", "--defaults"]
    for key, value in answers.items():
        command += ["--data", f"{key}={value}"]
    if source.ref:
        command += ["--vcs-ref", source.ref]
    return [*command, source.url, str(destination)]


def find_copier() -> list[str]:
    """copier installed beside this nightly-sessions, else on PATH, else through uvx."""
    here = shutil.which("copier", path=str(Path(sys.executable).parent))
    if copier := here or shutil.which("copier"):
        return [copier]
    if uvx := shutil.which("uvx"):
        return [uvx, "copier"]
    raise ToolError(
        "Neither copier nor uvx is installed; install copier (`uv tool install copier` or "
        "`pipx install copier`) and run this again."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template", default=None,
        help="git URL or path of the nightly-sessions template (default: where this "
        "nightly-sessions was installed from with git)",
    )  # fmt: skip
    parser.add_argument("--vcs-ref", default=None, help="tag or commit of the template")
    parser.add_argument(
        "--print", dest="print_only", action="store_true",
        help="print the copier command instead of running it",
    )  # fmt: skip


def refuse_credentials(url: str) -> None:
    """A template URL with a password or token in it would be written into the generated
    noxfile's pin and the answers file, and so into the repository.
    """
    if re.match(r"^[\w+.-]+://[^/@\s]*:[^/@\s]*@", url) or redact(url) != url:
        raise ConfigError(
            f"The template URL {redact(url)} holds credentials, which the copy would write "
            "into the noxfile's pin and the answers file: give the URL without them."
        )


def _source(args: argparse.Namespace) -> Source:
    if args.template:
        refuse_credentials(args.template)
        return Source(args.template, args.vcs_ref)
    found = installed_source(_direct_url())
    if found is None:
        raise ConfigError(
            "This nightly-sessions was not installed from git, so the template's URL is not "
            "known; give it with --template <git URL of nightly-sessions>."
        )
    return Source(found.url, args.vcs_ref or found.ref)


def _run_command(call: Call) -> None:
    args, root = call.args, call.settings.project_root
    origin = origin_url(root)
    answers = detect_answers(root, origin)
    explained = {"compiled": compiled_line, "runner": runner_line}  # answers with a why
    for key, value in answers.items():
        print(explained[key](root) if key in explained else f"{key}: {value}")  # noqa: T201
    if "repository" not in answers:
        why = f"origin {redact(origin)} is not on GitHub" if origin else "no origin remote"
        print(  # noqa: T201
            f"repository: not found ({why}); copier asks for it, or add "
            "--data repository=owner/name."
        )
    source = _source(args)
    command = copier_command(
        ["copier"] if args.print_only else find_copier(), source, answers, root
    )
    if args.print_only:
        print(redact(shlex.join(command)))  # noqa: T201
        return
    check_local_template(source.url)
    run_copier(command)


INIT = Entry(add_arguments, _run_command)


def _reason(line: str) -> str:
    """copier's last line in words: `copier.errors.InvalidConfigFileError: /x/copier.yml`
    becomes "invalid config file: /x/copier.yml".
    """
    match = re.match(r"^(?:[\w]+\.)*(\w+?)(?:Error|Exception): (.*)$", line.strip())
    if not match:
        return line.strip().rstrip(".")
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", match[1]).lower()
    return f"{words}: {match[2].rstrip('.')}" if words != "value" else match[2].rstrip(".")


def check_local_template(url: str) -> None:
    """A template given as a local path must be a folder holding copier.yml."""
    remote = url.startswith(("gh:", "gl:", "git+")) or "://" in url or re.match(r"^[\w.-]+@", url)
    if remote:
        return
    if not (Path(url) / "copier.yml").is_file():
        raise ConfigError(
            f"--template {url} is not a nightly-sessions checkout (no copier.yml there); "
            "give the git URL of nightly-sessions or the path of a checkout."
        )


def run_copier(command: Sequence[str]) -> int:
    """Run copier; its output is shown as it is when it succeeds, its last line in a
    sentence when it fails (copier shows a traceback for its own errors).
    """
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        print(result.stdout + result.stderr, end="")  # noqa: T201
        return 0
    lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
    reason = _reason(lines[-1])
    raise ToolError(
        f"The copier copy failed (exit code {result.returncode}): {reason}; fix that and "
        "run init again."
    )
