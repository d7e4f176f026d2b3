"""First contact on real projects: copy the template, list the sessions, plan the nightlies.

Each project of the corpus (tests/corpus, verbatim files of real SPEC 4 adopters) becomes
a git repository with its newest release tag and a commit after it, as a `fetch-depth: 0`
checkout has it. Then, as a maintainer would:

- `copier copy --trust --defaults <template> .` with the copier command line;
- the exact `uvx --from nox==... nox ...` command of the generated tests workflow, in
  nox's script mode (the noxfile's PEP 723 block installs nightly-sessions from the
  template's commit), lists the sessions and prints the nightly plan against a loopback
  channel that carries the project's nightly dependencies;
- where the project has a noxfile.py of its own, the advice printed after the copy is
  applied to it, and plain `nox -l` lists its sessions and the nightly ones.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from nightly_sessions.core.pythons import auto_pythons
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.template import GIT_ENV, ROOT, commit_all, git
from nightly_sessions.testing.wheelhouse import download_wheels, make_wheel
from template.template_world import make_package_repo

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "corpus"
ENTRIES: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "corpus.toml").read_text())
ANSWERS_FILE = ".copier-answers.nightly-sessions.yml"
# uv (script mode, `uvx`) installs from the loopback PyPI stand-in of the running test.
INDEX: dict[str, str] = {}
BIN = Path(sys.executable).parent

# What "auto" must plan from the channel for each project, read from its pyproject.toml:
# the channel packages among [project.dependencies], the runtime extra `default` when the
# dependencies are empty, and the conventional test extra or group (test, tests, testing).
# versioneer's version comes from an sdist, whose build needs setuptools, Cython and numpy
# from the base index; the stand-in here does not carry them.
NEEDS_BUILD_TOOLS = {"shapely"}
# Nightly versions where 99.0.0.dev0 would break a project's own bounds, which "auto"
# keeps (statsmodels: numpy<3; calendar-versioned fsspec and tifffile sort by year).
NIGHTLY_VERSIONS = {"numpy": "2.99.0.dev0", "fsspec": "2099.1.0.dev0", "tifffile": "2099.1.0.dev0"}

EXPECTED_PLAN: dict[str, set[str]] = {
    "networkx": {"numpy", "scipy", "pandas", "matplotlib"},  # all from the extra 'default'
    "xarray": {"numpy", "pandas"},
    "zarr": {"numpy"},
    "scikit-image": {"numpy", "scipy", "networkx", "pillow"},
    "numpy": set(),  # no dependencies: the plan is empty and says what would fill it
    "scipy": {"numpy", "matplotlib"},  # the test group includes optional-runtime-deps
    "statsmodels": {"numpy", "scipy", "pandas"},
    "shapely": {"numpy"},
    "dask": {"pandas"},  # its test extra asks for pandas[test]; numpy is only in extras
    "astropy": {"numpy"},
    # The extra 'tests' names sunpy's own extras, three levels deep.
    "sunpy": {
        "numpy",
        "astropy",
        "contourpy",
        "h5py",
        "matplotlib",
        "pandas",
        "scikit-image",
        "scipy",
    },
    "h5py": set(),  # dependencies come from setup.py (dynamic): nothing to read
    "awkward": {"numpy"},
    "boost-histogram": {"numpy"},
}


@pytest.fixture(scope="module")
def pypi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """The PyPI stand-in: the nox that the workflows pin, and what installing
    nightly-sessions from git needs (its dependencies and its build backend).
    """
    metadata = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dependencies = [d for d in metadata["project"]["dependencies"] if "python_version" not in d]
    nox_pin = re.search(
        r"set NOX = '([^']+)'", (ROOT / "copier-includes/workflows.jinja").read_text()
    )
    assert nox_pin is not None
    wheels = download_wheels([nox_pin[1], *dependencies, "hatchling==1.33.0"])
    folder = tmp_path_factory.mktemp("pypi") / "simple"
    shutil.copytree(wheels, folder)
    # What statsmodels' meson version script imports (its build requires <10).
    shutil.copytree(download_wheels(["setuptools-scm==9.2.2"]), folder, dirs_exist_ok=True)
    with serve_directory(folder) as server:
        yield server


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOX_", "VIRTUAL_ENV"))}
    clean.pop("PYTHONPATH", None)
    return subprocess.run(
        command,
        cwd=cwd,
        env={**clean, **GIT_ENV, **INDEX, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nightly-sessions itself (package and template) as a git repository tagged v1."""
    return make_package_repo(tmp_path_factory.mktemp("first-contact"))


def import_project(slug: str, folder: Path) -> Path:
    """The corpus files of `slug` as a repository at one commit after its release tag."""
    entry = ENTRIES[slug]
    project = folder / slug
    shutil.copytree(CORPUS / slug, project)
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, f"{slug} as released", entry["release_tag"])
    (project / "CHANGES.rst").write_text("Work after the release.\n", encoding="utf-8")
    commit_all(project, "Work after the release")
    return project


def snapshot(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def dependabot_covers_actions(path: Path) -> bool:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return any(
        entry.get("package-ecosystem") == "github-actions" for entry in data.get("updates", [])
    )


def step_of_the_tests(workflow: Path) -> str:
    """The command of the tests workflow's test step (nox, or tox for a tox project)."""
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    steps = data["jobs"]["tests"]["steps"]
    return str(next(s["run"] for s in steps if s.get("name") == "Test against nightly wheels"))


def workflow_nox_command(workflow: Path) -> list[str]:
    """The nox command line the tests workflow runs (its test step, or with tox there, the
    first other step that runs nox), up to its --session."""
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    lines = [step_of_the_tests(workflow)] + [
        str(step["run"])
        for job in data["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("run", "")).startswith("uvx --from")
    ]
    line = next(line for line in lines if "--session" in line)
    words = shlex.split(line)
    words = words[: words.index("--session")]
    assert words[:2] == ["uvx", "--from"], line
    return [str(BIN / "uv"), "tool", "run", *words[1:]]


def add_to_script_block(noxfile: Path, requirement: str, lines: str) -> None:
    """Apply the advice printed after the copy to the project's own noxfile.py."""
    text = noxfile.read_text(encoding="utf-8")
    one_line = re.search(r"^# dependencies = \[(.*)\]$", text, flags=re.MULTILINE)
    if one_line:
        inner = one_line[1].rstrip(", ")
        text = text.replace(one_line[0], f'# dependencies = [{inner}, "{requirement}"]')
    elif "# /// script" in text:
        text = re.sub(
            r"^# dependencies = \[$", f'\\g<0>\n#     "{requirement}",', text, flags=re.MULTILINE
        )
    else:
        text = f'# /// script\n# dependencies = ["nox", "{requirement}"]\n# ///\n' + text
    noxfile.write_text(text + "\n" + lines, encoding="utf-8")


@pytest.mark.parametrize("slug", sorted(ENTRIES))
def test_first_contact(
    slug: str,
    template: Path,
    tmp_path: Path,
    nightly_index: PypiServer,
    pypi: PypiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(INDEX, "UV_DEFAULT_INDEX", pypi.url)
    entry = ENTRIES[slug]
    project = import_project(slug, tmp_path)
    before = snapshot(project)

    copied = run(
        [str(BIN / "copier"), "copy", "--trust", "--defaults", str(template), "."], project
    )
    output = copied.stdout + copied.stderr
    assert copied.returncode == 0, output
    assert "conflict" not in output
    assert "Traceback" not in output

    # Nothing of the project changed; only the template's own files are new.
    after = snapshot(project)
    assert {name: after[name] for name in before} == before
    new = set(after) - set(before)
    noxfile = "noxfile_nightly.py" if entry["has_noxfile"] else "noxfile.py"
    tests_workflow = ".github/workflows/nightly-tests.yml"
    wheels_workflow = ".github/workflows/" + (
        "nightly-sessions-wheels.yml"
        if "nightly-wheels.yml" in entry["colliding_workflows"]
        else "nightly-wheels.yml"
    )
    expected = {ANSWERS_FILE, noxfile, tests_workflow, wheels_workflow}
    expected.add(".github/nightly-sessions-lock.txt")  # the token jobs' tool lock
    if not entry["has_dependabot"]:
        expected.add(".github/dependabot.yml")
    assert new == expected

    advice = "unless .github/dependabot.yml already has a github-actions entry"
    assert (advice in words(output)) == entry["has_dependabot"]

    # A project with a tox configuration gets the tox flavour of the test step (the
    # runner answer's default); the other jobs run nox all the same.
    uses_tox = any((project / name).exists() for name in ("tox.ini", "tox.toml"))
    assert ("tox run -e" in step_of_the_tests(project / tests_workflow)) == uses_tox
    assert ("nightly = true" in output) == uses_tox  # the env section to add, in the message

    # The exact nox command of the generated workflow, in script mode.
    nox = workflow_nox_command(project / tests_workflow)
    assert ("--noxfile" in nox) == entry["has_noxfile"]
    listed = run([*nox, "-l"], project)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for session in ("nightly_tests", "nightly_plan", "build_nightly", "nightly_issue"):
        assert session in listed.stdout

    # The `pythons` job of the tests workflow: the matrix from requires-python and the
    # classifiers, as GitHub Actions step outputs.
    github_output = tmp_path / "github-output"
    github_output.touch()
    pythons = run(
        [*nox, "--session", "nightly_pythons", "--", "Linux"],
        project,
        env={"GITHUB_OUTPUT": str(github_output)},
    )
    assert pythons.returncode == 0, pythons.stdout + pythons.stderr
    outputs = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
    expected_pythons = auto_pythons(
        entry["requires_python"],
        [f"Programming Language :: Python :: {v}" for v in entry["python_classifiers"]],
        project / "pyproject.toml",
    )
    assert json.loads(outputs["python"]) == list(expected_pythons)
    assert outputs["jobs"] == " ".join(f"py{v}-Linux" for v in expected_pythons)

    for name in entry["nightly_dependencies"]:
        make_wheel(nightly_index.directory, name, NIGHTLY_VERSIONS.get(name, "99.0.0.dev0"))
    planned = run(
        [*nox, "--session", "nightly_plan"], project, env={"NIGHTLY_INDEX_URL": nightly_index.url}
    )
    plan_output = planned.stdout + planned.stderr
    assert planned.returncode == 0, plan_output
    rows = re.findall(
        r"^\s+(\S+)\s+nightly index\s+\S+\.dev0\s+(auto: .+?)\s*$", plan_output, re.MULTILINE
    )
    assert {name for name, _ in rows} == EXPECTED_PLAN[slug], plan_output
    if not EXPECTED_PLAN[slug]:
        assert "Nothing to test:" in plan_output
    if slug == "h5py":
        assert "dependencies are dynamic" in plan_output

    # The nightly version, checked against the release tag, without compiling.
    versioned = run(
        [*nox, "--session", "build_nightly", "--", "--version-only"],
        project,
        env={"NIGHTLY_BASE_INDEX_URL": pypi.url},
    )
    version_output = versioned.stdout + versioned.stderr
    assert "Traceback" not in version_output
    if slug in NEEDS_BUILD_TOOLS:  # the PyPI stand-in lacks them: a sentence, no traceback
        assert versioned.returncode != 0
        assert "Failed to install build==" in version_output, version_output
    else:
        assert versioned.returncode == 0, version_output
        found = re.search(
            rf"Nightly version of {re.escape(entry['project_name'])}: (\S+) \(checked, nothing built\)",
            version_output,
        )
        assert found is not None, version_output
        nightly = Version(found[1])
        assert nightly.is_devrelease
        assert nightly > Version(entry["release_version"])

    if entry["has_noxfile"]:
        requirement = re.search(r'REQUIREMENT = "([^"]+)"', (project / noxfile).read_text())
        assert requirement is not None
        lines = re.search(r"^ +(import runpy\n +runpy\.run_path\(.*\))$", output, re.MULTILINE)
        assert lines is not None, output
        snippet = "\n".join(line.strip() for line in lines[1].splitlines()) + "\n"
        own_sessions = run([*nox[: nox.index("--noxfile")], "-l"], project)
        assert own_sessions.returncode == 0, own_sessions.stdout + own_sessions.stderr
        add_to_script_block(project / "noxfile.py", requirement[1], snippet)
        both = run([*nox[: nox.index("--noxfile")], "-l"], project)
        assert both.returncode == 0, both.stdout + both.stderr
        assert "nightly_tests" in both.stdout
        assert "- tests" in own_sessions.stdout or "* tests" in own_sessions.stdout
        assert re.search(r"^[*-] tests\b", both.stdout, re.MULTILINE), both.stdout


def test_the_docs_table_covers_every_corpus_project() -> None:
    """docs/first-contact.md says what each real layout needs; a new corpus entry must appear."""
    text = (ROOT / "docs" / "first-contact.md").read_text(encoding="utf-8")
    missing = [slug for slug in ENTRIES if slug not in text]
    assert not missing, f"docs/first-contact.md does not mention {missing}"
    assert f"the files of {len(ENTRIES)} real" in text


def words(text: str) -> str:
    """`text` with every run of whitespace as one space: messages wrap where they like."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    "own_file",
    [
        (
            "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
            "    schedule:\n      interval: weekly\n"
        ),
        "updates: [\n  - : :\n",  # not valid YAML: the copy must not stop on it
    ],
    ids=["pip-only", "not-yaml"],
)
def test_the_dependabot_advice_applied_covers_the_actions(
    tmp_path: Path, template: Path, own_file: str
) -> None:
    """A project with its own dependabot.yml is shown the entry to add (the file is never
    read, so a broken one cannot stop the copy); added as printed to a valid file, it
    makes the file cover the actions.
    """
    project = tmp_path / "project"
    (project / ".github").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    own = project / ".github" / "dependabot.yml"
    own.write_text(own_file, encoding="utf-8")
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Own dependabot")
    copy = [str(BIN / "copier"), "copy", "--trust", "--defaults", str(template), "."]
    first = run(copy, project)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    assert "Traceback" not in output
    assert own.read_text(encoding="utf-8") == own_file
    advice = re.search(r"add this one under its `updates:`\n((?: {8}.*\n)+)", output)
    assert advice is not None, output
    if own_file.startswith("version"):
        entry = "".join(line[8:].join(["  ", "\n"]) for line in advice[1].splitlines())
        own.write_text(own_file + entry, encoding="utf-8")
        assert dependabot_covers_actions(own)


def test_the_projects_own_uv_configuration_cannot_stop_the_workflows(
    template: Path, tmp_path: Path, nightly_index: PypiServer, pypi: PypiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A dependency group uv cannot read (a non-standard include-optional entry) makes uv
    refuse to create any virtualenv in the project, and a [tool.uv] index would take over
    the tools' installs; the generated workflows set UV_NO_PROJECT and UV_NO_CONFIG, so
    their exact nox command works, and the plan reads the groups it uses."""
    monkeypatch.setitem(INDEX, "UV_DEFAULT_INDEX", pypi.url)
    project = import_project("zarr", tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8").replace(
        "[dependency-groups]\n",
        '[dependency-groups]\nviz-test = ["pytest", {include-optional = "viz"}]\n',
        1,
    )
    text += '\n[tool.uv]\nindex-url = "http://127.0.0.1:9/dead/simple"\n'
    pyproject.write_text(text, encoding="utf-8")
    commit_all(project, "A group uv cannot read, and a private index")
    copied = run(
        [str(BIN / "copier"), "copy", "--trust", "--defaults", str(template), "."], project
    )
    assert copied.returncode == 0, copied.stdout + copied.stderr
    workflow = project / ".github/workflows/nightly-tests.yml"
    env = {k: str(v) for k, v in yaml.safe_load(workflow.read_text())["env"].items()}
    assert env == {"UV_NO_CONFIG": "1", "UV_NO_PROJECT": "1"}
    nox = workflow_nox_command(workflow)

    bare = run([*nox, "-l"], project)  # as uv sees the project without the workflow's env
    assert bare.returncode != 0
    assert "malformed dependency groups" in bare.stdout + bare.stderr

    listed = run([*nox, "-l"], project, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "nightly_plan" in listed.stdout
    make_wheel(nightly_index.directory, "numpy", "99.0.0.dev0")
    planned = run(
        [*nox, "--session", "nightly_plan"],
        project,
        env={**env, "NIGHTLY_INDEX_URL": nightly_index.url},
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "numpy" in planned.stdout
