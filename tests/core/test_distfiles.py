"""Checks of built files: each problem is one line naming the file and the fix."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nightly_sessions import cli
from nightly_sessions.core.distfiles import (
    Problem,
    check_files,
    check_warnings,
    expand_paths,
    find_dist_files,
    project_of,
    python_order,
    python_version,
    read_metadata,
    require_valid,
    wheel_builds,
)
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.testing.wheelhouse import make_sdist, make_wheel, metadata_text

NIGHTLY = "1.3.0.dev20250101103000+20250102.gabc1234"
BAD_RST = "Title\n=====\n\nAn `unclosed reference\n"


def messages(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def test_a_good_wheel_and_sdist_pass(tmp_path: Path) -> None:
    files = [make_wheel(tmp_path, "demo", NIGHTLY), make_sdist(tmp_path, "demo", NIGHTLY)]
    assert check_files(files) == []
    require_valid(files)


def test_a_manylinux_wheel_with_markdown_passes(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "demo",
        NIGHTLY,
        tag="cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
        extra_headers=[("Description-Content-Type", "text/markdown; charset=UTF-8")],
    )
    assert check_files([wheel]) == []


def test_problem_names_the_file() -> None:
    problem = Problem(Path("/somewhere/dist/demo-1.0-py3-none-any.whl"), "it is wrong; fix it")
    assert str(problem) == "demo-1.0-py3-none-any.whl: it is wrong; fix it"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo-1.0.dev1.whl", "the file name does not parse"),
        ("demo-1.0.0.devX-py3-none-any.whl", "the file name does not parse"),
        ("demo.tar.gz", "the file name does not parse"),
        ("notes.txt", "not a wheel (.whl) or sdist"),
    ],
)
def test_a_file_name_that_does_not_parse_is_refused(
    tmp_path: Path, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"not an archive")
    [problem] = check_files([path])
    assert problem.path == path
    assert expected in problem.message


def test_a_renamed_wheel_mismatches_its_metadata(tmp_path: Path) -> None:
    built = make_wheel(tmp_path / "built", "demo", NIGHTLY)
    renamed = tmp_path / "other-1.4.0.dev1-py3-none-any.whl"
    shutil.copy(built, renamed)
    found = messages(check_files([renamed]))
    assert any("metadata Name 'demo' does not match the file name ('other')" in m for m in found)
    assert any(f"metadata Version '{NIGHTLY}' does not match" in m for m in found)
    assert all("rebuild instead" in m for m in found)


def test_a_release_version_is_refused(tmp_path: Path) -> None:
    [problem] = check_files([make_wheel(tmp_path, "demo", "1.2.0")])
    assert "version 1.2.0 is a release" in problem.message
    assert "nox -s build_nightly" in problem.message


def test_a_missing_summary_is_refused(tmp_path: Path) -> None:
    [problem] = check_files([make_wheel(tmp_path, "demo", NIGHTLY, summary=None)])
    assert "no Summary, which anaconda.org refuses" in problem.message
    assert "description" in problem.message


def test_a_description_pypi_cannot_render_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "demo",
        NIGHTLY,
        extra_headers=[("Description-Content-Type", "text/x-rst"), ("Description", BAD_RST)],
    )
    [problem] = check_files([wheel])
    assert "invalid reStructuredText, so PyPI would not render it" in problem.message
    assert "\n" not in str(problem)


def test_our_render_check_refuses_what_twine_refuses(tmp_path: Path) -> None:
    """The render check agrees with `twine check` on the same file."""
    wheel = make_wheel(
        tmp_path, "demo", NIGHTLY, extra_headers=[("Description", BAD_RST.replace("\n", " "))]
    )
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "check", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert twine.returncode != 0, twine.stdout
    assert len(check_files([wheel])) == 1


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html", "'text/html' is not one PyPI accepts"),
        ("text/markdown; charset=latin-1", "charset 'latin-1' is refused by PyPI"),
    ],
)
def test_a_content_type_pypi_refuses_is_refused(
    tmp_path: Path, content_type: str, expected: str
) -> None:
    headers = [("Description-Content-Type", content_type)]
    [problem] = check_files([make_wheel(tmp_path, "demo", NIGHTLY, extra_headers=headers)])
    assert expected in problem.message


def test_a_bare_linux_wheel_is_refused_for_upload_only(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", NIGHTLY, tag="cp312-cp312-linux_x86_64")
    [problem] = check_files([wheel])
    assert "platform tag 'linux_x86_64'" in problem.message
    assert "cibuildwheel" in problem.message
    assert "manylinux" in problem.message
    assert check_files([wheel], for_upload=False) == []


def test_two_files_for_the_same_version_and_tag_are_refused(tmp_path: Path) -> None:
    first = make_wheel(tmp_path, "demo", NIGHTLY)
    second = make_wheel(tmp_path, "demo", NIGHTLY, build_tag="1")
    sdist = make_sdist(tmp_path / "a", "demo", NIGHTLY)
    other_sdist = make_sdist(tmp_path / "b", "demo", NIGHTLY)
    found = check_files([first, second, sdist, other_sdist])
    assert [problem.path for problem in found] == [second, other_sdist]
    assert f"same version {NIGHTLY} and tag py3-none-any as {first.name}" in found[0].message
    assert "and sdist as" in found[1].message


def test_different_tags_of_one_version_are_fine(tmp_path: Path) -> None:
    files = [
        make_wheel(tmp_path, "demo", NIGHTLY, tag="cp312-cp312-manylinux_2_28_x86_64"),
        make_wheel(tmp_path, "demo", NIGHTLY, tag="cp312-cp312-win_amd64"),
        make_sdist(tmp_path, "demo", NIGHTLY),
    ]
    assert check_files(files) == []


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    bad = make_wheel(tmp_path, "demo", "1.0", tag="cp312-cp312-linux_x86_64", summary=None)
    also_bad = make_sdist(tmp_path, "other", "2.0")
    with pytest.raises(ConfigError) as caught:
        require_valid([bad, also_bad])
    lines = str(caught.value).splitlines()
    assert len(lines) == 4
    assert [line.split(":")[0] for line in lines] == [bad.name] * 3 + [also_bad.name]


def test_an_unreadable_wheel_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / f"demo-{NIGHTLY}-py3-none-any.whl"
    broken.write_bytes(b"not a zip file")
    [problem] = check_files([broken])
    assert "Cannot read the metadata" in problem.message
    assert "rebuild the file" in problem.message


def truncated_sdist(directory: Path) -> Path:
    """An sdist cut off half way, as an interrupted download or copy leaves it."""
    sdist = make_sdist(directory, "demo", NIGHTLY)
    data = sdist.read_bytes()
    sdist.write_bytes(data[: len(data) // 2])
    return sdist


def wheel_with_corrupt_metadata(directory: Path) -> Path:
    """A wheel whose deflated METADATA bytes are garbage (zlib cannot inflate them)."""
    wheel = make_wheel(directory, "demo", NIGHTLY)
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(f"demo-{NIGHTLY}.dist-info/METADATA")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    data = bytearray(wheel.read_bytes())
    name_length, extra_length = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_length + extra_length
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    wheel.write_bytes(bytes(data))
    return wheel


@pytest.mark.parametrize(
    ("craft", "error"),
    [(truncated_sdist, "EOFError"), (wheel_with_corrupt_metadata, "error")],
    ids=["truncated-sdist", "corrupt-metadata"],
)
def test_a_damaged_archive_is_one_line_not_a_traceback(
    tmp_path: Path, craft: Callable[[Path], Path], error: str
) -> None:
    damaged = craft(tmp_path)
    [problem] = check_files([damaged])
    text = str(problem)
    assert "\n" not in text
    assert text.startswith(f"{damaged.name}: Cannot read the metadata of {damaged}")
    assert f"the archive is damaged or cut short ({error}: " in text
    assert text.endswith("rebuild the file, or copy or download it again")


def test_check_dist_reports_damaged_archives_with_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    files = [truncated_sdist(dist), wheel_with_corrupt_metadata(dist)]
    assert cli.main(["--project", str(tmp_path), "check-dist"]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    for path in files:
        assert f"{path.name}: Cannot read the metadata" in error


def test_a_wheel_without_metadata_is_a_problem(tmp_path: Path) -> None:
    empty = tmp_path / f"demo-{NIGHTLY}-py3-none-any.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("demo/__init__.py", "")
    [problem] = check_files([empty])
    assert "0 .dist-info/METADATA files instead of one" in problem.message


def test_read_metadata_of_wheel_and_sdist(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", NIGHTLY)
    sdist = make_sdist(tmp_path, "demo", NIGHTLY)
    assert read_metadata(wheel)["Version"] == NIGHTLY
    assert read_metadata(sdist)["Name"] == "demo"


def test_find_dist_files_lists_wheels_and_sdists_sorted(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "demo", NIGHTLY)
    wheel = make_wheel(tmp_path, "demo", NIGHTLY)
    (tmp_path / "README.txt").write_text("not a dist file")
    (tmp_path / "sub").mkdir()
    assert find_dist_files(tmp_path) == sorted([sdist, wheel])
    assert project_of(wheel) == "demo"
    assert project_of(tmp_path / "README.txt") is None


def test_missing_dist_folder_says_to_build_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; build first"):
        find_dist_files(tmp_path / "dist")
    with pytest.raises(ConfigError, match="does not exist; pass a wheel"):
        expand_paths([tmp_path / "missing.whl"])


def test_nothing_to_check_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no wheels or sdists to check"):
        require_valid([])


def test_cli_check_dist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dist = tmp_path / "dist"
    make_wheel(dist, "demo", NIGHTLY)
    assert cli.main(["--project", str(tmp_path), "check-dist"]) == 0
    assert "1 file(s) ready" in capsys.readouterr().out
    local = make_wheel(dist, "demo", NIGHTLY, tag="cp312-cp312-linux_x86_64")
    assert cli.main(["--project", str(tmp_path), "check-dist", str(dist)]) == 2
    error = capsys.readouterr().err
    assert f"{local.name}: platform tag 'linux_x86_64'" in error
    assert cli.main(["--project", str(tmp_path), "check-dist", "--local", str(local)]) == 0


# Warnings: a Project-URL that leads the channel's stale-wheel bot to the repository.

SOURCE = ("Project-URL", "Source, https://github.com/skyorg/demo")
WHY = (
    "since the channel's stale-wheel bot (@scientific-python-bot) finds your tracker from it "
    "to open an issue 15 days after your last nightly upload, before the channel deletes your "
    "nightlies at 30 (it reads your metadata on PyPI, so the URL reaches it with your next "
    "release)"
)


def sdist_with(directory: Path, headers: list[tuple[str, str]]) -> Path:
    """An sdist of demo whose PKG-INFO carries `headers`."""
    base = f"demo-{NIGHTLY}"
    path = directory / f"{base}.tar.gz"
    text = metadata_text("demo", NIGHTLY, extra_headers=headers).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return path


def test_no_project_url_is_a_warning_for_wheel_and_sdist_together(tmp_path: Path) -> None:
    files = [make_wheel(tmp_path, "demo", NIGHTLY), sdist_with(tmp_path, [])]
    assert check_files(files) == []  # still valid: a warning, not a problem
    assert check_warnings(files, {}) == [
        f"demo-{NIGHTLY}-py3-none-any.whl and 1 other file: the metadata has no Project-URL "
        "pointing at the project's GitHub or GitLab repository; add "
        '`Source = "https://github.com/<owner>/<name>"` to [project.urls] in pyproject.toml, ' + WHY
    ]
    in_ci = {"GITHUB_REPOSITORY": "skyorg/demo"}
    assert check_warnings(files[:1], in_ci) == [
        f"demo-{NIGHTLY}-py3-none-any.whl: the metadata has no Project-URL pointing at "
        'https://github.com/skyorg/demo; add `Source = "https://github.com/skyorg/demo"` to '
        "[project.urls] in pyproject.toml, " + WHY
    ]


@pytest.mark.parametrize(
    "headers",
    [
        [SOURCE],
        [("Project-URL", "Bug Tracker, https://github.com/SkyOrg/demo/issues")],
        [("Project-URL", "Repository, https://github.com/skyorg/demo.git")],
        [("Home-page", "https://github.com/skyorg/demo")],
        [("Project-URL", "Docs, https://demo.example.org"), SOURCE],
    ],
    ids=["source", "tracker-deep-link", "dot-git", "home-page", "among-others"],
)
def test_a_project_url_to_the_repository_is_no_warning(
    tmp_path: Path, headers: list[tuple[str, str]]
) -> None:
    files = [
        make_wheel(tmp_path, "demo", NIGHTLY, extra_headers=headers),
        sdist_with(tmp_path, headers),
    ]
    assert check_warnings(files, {}) == []
    assert check_warnings(files, {"GITHUB_REPOSITORY": "skyorg/demo"}) == []


def test_a_url_under_a_label_the_bot_does_not_read_is_a_warning(tmp_path: Path) -> None:
    headers = [("Project-URL", "Documentation, https://github.com/skyorg/demo/wiki")]
    wheel = make_wheel(tmp_path, "demo", NIGHTLY, extra_headers=headers)
    [line] = check_warnings([wheel], {"GITHUB_REPOSITORY": "skyorg/demo"})
    assert line == (
        f"demo-{NIGHTLY}-py3-none-any.whl: Project-URL 'Documentation' points at "
        "https://github.com/skyorg/demo/wiki, but under a label the channel's stale-wheel bot "
        "does not read (it reads those naming a tracker, issues, source, repository or "
        'homepage); add `Source = "https://github.com/skyorg/demo"` to [project.urls] in '
        "pyproject.toml, " + WHY
    )


def test_the_repository_is_github_repository_except_in_a_fork(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", NIGHTLY, extra_headers=[SOURCE])
    [line] = check_warnings([wheel], {"GITHUB_REPOSITORY": "someone/demo"})
    assert line.startswith(
        f"demo-{NIGHTLY}-py3-none-any.whl: the Project-URLs point at github.com/skyorg/demo, "
        "not at this repository (github.com/someone/demo, from $GITHUB_REPOSITORY); if that is "
        "where issues belong, nothing to do; otherwise add "
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"fork": True}}))
    fork = {"GITHUB_REPOSITORY": "someone/demo", "GITHUB_EVENT_PATH": str(event)}
    assert check_warnings([wheel], fork) == []  # a fork rightly points at its upstream


def test_gitlab_counts_without_github_repository_and_own_channels_have_no_bot(
    tmp_path: Path,
) -> None:
    gitlab = [("Project-URL", "Source Code, https://gitlab.com/sky/group/demo")]
    wheel = make_wheel(tmp_path / "a", "demo", NIGHTLY, extra_headers=gitlab)
    assert check_warnings([wheel], {}) == []
    bare = make_wheel(tmp_path / "b", "demo", NIGHTLY)
    assert check_warnings([bare], {}, channel="my-lab") == []


def test_check_dist_prints_the_warning_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(tmp_path / "dist", "demo", NIGHTLY)
    for name in ("GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["--project", str(tmp_path), "check-dist"]) == 0
    out = capsys.readouterr().out
    assert f"warning: demo-{NIGHTLY}-py3-none-any.whl: the metadata has no Project-URL" in out
    assert "1 file(s) ready" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "skyorg/demo")
    assert cli.main(["--project", str(tmp_path), "check-dist"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"::warning title=check_dist::demo-{NIGHTLY}-py3-none-any.whl: the metadata has no "
        "Project-URL pointing at https://github.com/skyorg/demo;"
    )


@pytest.mark.parametrize(
    ("filename", "builds"),
    [
        (f"demo-1.0-cp312-cp312-{'manylinux_2_17_x86_64.manylinux2014_x86_64'}.whl", {("cp312", "manylinux_x86_64")}),
        ("demo-1.0-cp313-cp313t-macosx_11_0_arm64.whl", {("cp313t", "macosx_arm64")}),
        ("demo-1.0-py2.py3-none-any.whl", {("py2", "any"), ("py3", "any")}),
        ("demo-1.0-cp39-abi3-win_amd64.whl", {("cp39", "win_amd64")}),
        ("demo-1.0-pp310-pypy310_pp73-musllinux_1_2_aarch64.whl", {("pp310", "musllinux_aarch64")}),
        ("demo-1.0-cp312-cp312-pyodide_2024_0_wasm32.whl", {("cp312", "pyodide_wasm32")}),
        ("demo-1.0.tar.gz", None),
        ("demo.whl", None),
    ],
)  # fmt: skip
def test_what_a_wheel_is_built_for(filename: str, builds: set[tuple[str, str]] | None) -> None:
    assert wheel_builds(filename) == (None if builds is None else frozenset(builds))


def test_pythons_sort_by_version_within_a_family() -> None:
    labels = ["cp313t", "cp310", "cp39", "py3", "cp314t", "pp310", "odd"]
    assert sorted(labels, key=python_order) == [
        "cp39", "cp310", "cp313t", "cp314t", "pp310", "py3", "odd",
    ]  # fmt: skip
    assert python_version("cp313t") == ("cp-t", (3, 13))
    assert python_version("py3") == ("py", (3, -1))
    assert python_version("odd") is None
