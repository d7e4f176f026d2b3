from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from nightly_sessions.core.config import load_settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.index import DistFile, newest_compatible
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.nightly_tests.plan import InstallPlan, Target, make_plan, plan_targets
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.testing.wheelhouse import make_wheel

CORPUS = Path(__file__).parents[1] / "corpus"
PYPROJECT = """
[project]
name = "demo"
dependencies = ["numpy>=2", "pandas", "demo-helper"]

[project.optional-dependencies]
test = ["pytest", "scipy"]

[dependency-groups]
test = ["matplotlib"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return root


@pytest.fixture
def channel(nightly_index: PypiServer) -> PypiServer:
    folder = nightly_index.directory
    make_wheel(folder, "numpy", "2.5.0.dev0+git20261120.aaaaaaa")
    make_wheel(folder, "numpy", "2.5.0.dev0+git20261123.bbbbbbb")
    make_wheel(folder, "numpy", "2.6.0.dev0", tag="cp399-cp399-manylinux_2_17_x86_64")  # not for us
    make_wheel(folder, "scipy", "1.17.0.dev0")
    make_wheel(folder, "matplotlib", "3.11.0.dev0")
    make_wheel(folder, "demo", "9.0.dev0")  # the project itself is never planned
    return nightly_index


def settings_for(root: Path, channel: PypiServer, **overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(root, {"nightly_index_url": channel.url, **overrides}, environ={})


def test_auto_keeps_requirements_the_channel_carries(project: Path, channel: PypiServer) -> None:
    settings = settings_for(project, channel)
    plan = make_plan(settings, read_project(project), Target.for_python("3.11"))
    assert plan.extras == ("test",)
    assert plan.groups == ("test",)
    assert plan.group_requirements == ("matplotlib",)
    assert [p.name for p in plan.packages] == ["numpy", "scipy", "matplotlib"]
    numpy = plan.packages[0]
    assert numpy.source == "nightly"
    assert numpy.newest_nightly == "2.5.0.dev0+git20261123.bbbbbbb"
    assert "2.5.0.dev0+git20261120.aaaaaaa" in numpy.channel_versions


def test_explicit_list_keeps_packages_missing_from_channel(
    project: Path, channel: PypiServer
) -> None:
    settings = settings_for(
        project, channel, packages=["numpy", "pandas"], allow_missing=["pandas"]
    )
    plan = make_plan(settings, read_project(project), Target.for_python("3.11"))
    assert [(p.name, p.source, p.allowed_missing) for p in plan.packages] == [
        ("numpy", "nightly", False),
        ("pandas", "base", True),
    ]
    assert [p.name for p in plan.absent] == ["pandas"]
    text = plan.render()
    assert "pandas" in text
    assert "not on the channel (allowed)" in text
    assert plan.warnings() == []  # allowed: nothing to warn about
    assert "Warning" not in text


def test_allow_missing_must_name_planned_packages(project: Path, channel: PypiServer) -> None:
    settings = settings_for(project, channel, packages=["numpy"], allow_missing=["pandas"])
    with pytest.raises(
        ConfigError, match="'allow-missing' names pandas, which 'packages' does not list"
    ):
        make_plan(settings, read_project(project), Target.for_python("3.11"))


def test_plan_json_redacts_token_urls(project: Path, channel: PypiServer) -> None:
    settings = settings_for(
        project, channel, base_index_url="http://127.0.0.1:9/t/tok-123456/simple"
    )
    data = make_plan(settings, read_project(project), Target.for_python("3.11")).to_dict()
    assert data["base_index"] == "http://127.0.0.1:9/t/***/simple"
    assert "tok-123456" not in repr(data)


def test_unreachable_channel_is_a_network_error(project: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/simple"
    settings = load_settings(
        project, {"nightly_index_url": url, "retries": 0, "timeout": 2}, environ={}
    )
    with pytest.raises(NetworkError, match=r"127\.0\.0\.1"):
        make_plan(settings, read_project(project), Target.for_python("3.11"))


def test_target_for_other_python_uses_its_tags() -> None:
    target = Target.for_python("3.12")
    assert any(str(tag).startswith("cp312-cp312-") for tag in target.tags)
    assert any(str(tag) == "py3-none-any" for tag in target.tags)


def test_a_wrong_channel_url_is_an_error_not_an_empty_plan(
    project: Path, channel: PypiServer
) -> None:
    settings = settings_for(
        project, channel, nightly_index_url=f"{channel.root_url}/wrong-channel/simple"
    )
    with pytest.raises(ConfigError, match="is not a simple index; check the index URL"):
        make_plan(settings, read_project(project), Target.for_python("3.11"))


def test_a_missing_local_channel_folder_is_an_error(project: Path, tmp_path: Path) -> None:
    url = (tmp_path / "no-such-folder").as_uri()
    settings = load_settings(project, {"nightly_index_url": url}, environ={})
    with pytest.raises(ConfigError, match="is not a simple index"):
        make_plan(settings, read_project(project), Target.for_python("3.11"))


def test_an_empty_but_real_channel_gives_an_empty_plan(
    project: Path, nightly_index: PypiServer
) -> None:
    settings = settings_for(project, nightly_index)
    assert make_plan(settings, read_project(project), Target.for_python("3.11")).packages == ()


@pytest.mark.parametrize("python", ["abc", "3", "3.x", "3.14x", "3.14T", "3.12t", "3.14tt"])
def test_target_python_must_be_x_y(python: str) -> None:
    with pytest.raises(ConfigError, match=r"is not of the form X\.Y.*or X\.Yt"):
        Target.for_python(python)


def _wheel(filename: str) -> DistFile:
    name, version, _build, tags = parse_wheel_filename(filename)
    return DistFile(
        filename, f"https://example.invalid/{filename}", name, version, tags, True, None, False,
        None, None,
    )  # fmt: skip


PLATFORM = Target.for_python("3.14").tags[0].platform  # this machine's own
GIL = _wheel(f"numpy-2.3.0.dev0-cp314-cp314-{PLATFORM}.whl")
FREE = _wheel(f"numpy-2.3.0.dev0-cp314-cp314t-{PLATFORM}.whl")
ABI3 = _wheel(f"numpy-2.3.0.dev0-cp311-abi3-{PLATFORM}.whl")
PURE = _wheel("numpy-2.3.0.dev0-py3-none-any.whl")


def _picked(python: str, files: list[DistFile]) -> str | None:
    target = Target.for_python(python)
    found = newest_compatible(files, target.tags, target.python)
    return found.filename if found else None


def test_a_free_threaded_target_reads_its_variant() -> None:
    target = Target.for_python("3.14t")
    assert (target.python, target.free_threaded, target.label) == ("3.14", True, "3.14t")
    assert Target.for_python("3.14").label == "3.14"
    assert not Target.for_python("3.14").free_threaded
    assert not any(tag.abi == "cp314" for tag in target.tags)
    assert not any(tag.abi == "abi3" for tag in target.tags)  # abi3 does not load there
    assert Target.for_python("3.13t").label == "3.13t"


def test_a_free_threaded_target_picks_the_cp314t_wheel() -> None:
    assert _picked("3.14t", [GIL, FREE, ABI3]) == FREE.filename
    assert _picked("3.14", [GIL, FREE, ABI3]) == GIL.filename
    # Neither a cp314 nor an abi3 wheel installs on the free-threaded build: the channel
    # offers nothing for it, so the package comes from the base index (or is built).
    assert _picked("3.14t", [GIL, ABI3]) is None
    assert _picked("3.14", [ABI3]) == ABI3.filename
    assert _picked("3.14t", [GIL, PURE]) == PURE.filename


def test_a_free_threaded_plan_shows_the_variant(project: Path, channel: PypiServer) -> None:
    settings = settings_for(project, channel)
    plan = make_plan(settings, read_project(project), Target.for_python("3.14t"))
    assert plan.python == "3.14t"
    assert "on Python 3.14t" in plan.render()


def test_a_listed_name_the_channel_lacks_is_a_warning(project: Path, channel: PypiServer) -> None:
    settings = settings_for(project, channel, packages=["numpy", "nmupy"])
    plan = make_plan(settings, read_project(project), Target.for_python("3.11"))
    sentence = (
        f"The nightly index {channel.url} has no wheel of nmupy at all: check the spelling "
        "of the name, or add it to 'allow-missing' to test without its nightly."
    )
    assert [p.name for p in plan.missing] == ["nmupy"]
    assert plan.warnings() == [sentence]
    assert f"Warning: {sentence}" in plan.render()
    assert plan.to_dict()["warnings"] == [sentence]


def test_a_release_as_newest_on_the_channel_is_a_warning(
    project: Path, channel: PypiServer
) -> None:
    make_wheel(channel.directory, "pandas", "2.3.0")  # e.g. the index URL names PyPI
    settings = settings_for(project, channel)
    plan = make_plan(settings, read_project(project), Target.for_python("3.11"))
    [pandas] = [p for p in plan.packages if p.name == "pandas"]
    assert pandas.newest_is_release
    [warning] = plan.warnings()
    assert warning.startswith(
        f"The newest pandas on the nightly index {channel.url} is 2.3.0, which is not a "
        "pre-release and so not a nightly"
    )
    assert f"Warning: {warning}" in plan.render()


def test_plan_targets_follow_the_python_setting(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"python": ["3.12", "3.13"]}, environ={})
    assert [target.python for target in plan_targets(settings)] == ["3.12", "3.13"]
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert [t.python for t in plan_targets(load_settings(tmp_path, environ={}))] == [current]


def write_project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "real"
    root.mkdir()
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    return root


def plan_of(
    tmp_path: Path, channel: PypiServer, text: str, *, wider: bool = False, **overrides: object
) -> InstallPlan:
    """The Python 3.11 plan of a project whose pyproject.toml is `text`."""
    root = write_project(tmp_path, text)
    settings = settings_for(root, channel, **overrides)
    return make_plan(settings, read_project(root), Target.for_python("3.11"), wider=wider)


RUNTIME_IN_EXTRA = """
[project]
name = "graphlib-demo"
dependencies = []

[project.optional-dependencies]
default = ["numpy>=1.25", "scipy>=1.11", "pandas>=2.0"]
test = ["pytest>=7.2", "meson", "cython>=3"]
doc = ["sphinx", "matplotlib"]
"""


def test_runtime_dependencies_in_an_extra_are_planned(tmp_path: Path, channel: PypiServer) -> None:
    """networkx keeps its runtime dependencies in the extra `default`, nothing in
    [project.dependencies]: "auto" installs that extra with the test extra.
    """
    make_wheel(channel.directory, "cython", "3.3.0.dev0")  # a build tool the channel carries
    plan = plan_of(tmp_path, channel, RUNTIME_IN_EXTRA, wider=True)
    assert plan.extras == ("default", "test")
    assert {p.name: p.reason for p in plan.packages} == {
        "numpy": "auto: extra 'default'",
        "scipy": "auto: extra 'default'",
    }
    assert plan.build_tools == ("meson", "cython")
    assert plan.empty_sentence() is None
    text = plan.render()
    assert "install: project[default,test]" in text
    assert "Note: Build tools from the base index: meson, cython." in text
    assert "never takes a build tool's nightly" in text
    # What the tests leave out is said too (xarray's test group misses its extras).
    assert plan.could_add == (("extra 'doc'", ("matplotlib",)),)
    assert "Note: Not installed, with more nightlies: extra 'doc' (matplotlib); add them" in text
    # A test run, which does not show it, does not ask the channel about the left-out extras.
    root = tmp_path / "real"
    run_plan = make_plan(settings_for(root, channel), read_project(root), Target.for_python("3.11"))
    assert run_plan.could_add == ()


def test_self_referencing_extras_are_expanded(tmp_path: Path, channel: PypiServer) -> None:
    plan = plan_of(
        tmp_path,
        channel,
        """
[project]
name = "Arrays_Demo"
dependencies = ["packaging"]

[project.optional-dependencies]
io = ["scipy"]
viz = ["matplotlib", "arrays-demo[io]"]
complete = ["arrays-demo[io,viz]"]
""",
        extras=["complete"],
    )
    assert {p.name: p.reason for p in plan.packages} == {
        "scipy": "auto: extra 'complete' via 'io'",
        "matplotlib": "auto: extra 'complete' via 'viz'",
    }
    assert "arrays-demo" not in {p.name for p in plan.packages}


def test_groups_with_include_group_say_where_they_come_from(
    tmp_path: Path, channel: PypiServer
) -> None:
    plan = plan_of(
        tmp_path,
        channel,
        """
[project]
name = "demo"
dependencies = ["numpy"]

[dependency-groups]
plot = ["matplotlib"]
test = ["pytest", {include-group = "plot"}]
""",
    )
    assert plan.groups == ("test",)
    assert {p.name: p.reason for p in plan.packages} == {
        "numpy": "auto: dependencies",
        "matplotlib": "auto: group 'test'",
    }


EMPTY_BUT_FOR_EXTRAS = """
[project]
name = "demo"
dependencies = ["packaging"]

[project.optional-dependencies]
plot = ["matplotlib"]
science = ["scipy", "numpy"]
docs = ["sphinx"]
"""


def test_an_empty_plan_names_the_extras_that_would_fill_it(
    tmp_path: Path, channel: PypiServer
) -> None:
    plan = plan_of(tmp_path, channel, EMPTY_BUT_FOR_EXTRAS)
    assert plan.packages == ()
    assert plan.could_add == (
        ("extra 'plot'", ("matplotlib",)),
        ("extra 'science'", ("numpy", "scipy")),
    )
    sentence = plan.empty_sentence()
    assert sentence is not None
    assert sentence.startswith("Nothing to test: none of the project's dependencies has a wheel")
    assert "extra 'plot' (matplotlib); extra 'science' (numpy, scipy)" in sentence
    assert sentence in plan.warnings()
    assert f"Warning: {sentence}" in plan.render()
    note = "No test extra or dependency group found (looked for test, tests, testing)"
    assert any(note in line for line in plan.notes())


def test_strict_mode_stops_on_an_empty_plan(tmp_path: Path, channel: PypiServer) -> None:
    from nightly_sessions.core.errors import ProofError
    from nightly_sessions.nightly_tests.run import require_channel

    root = write_project(tmp_path, EMPTY_BUT_FOR_EXTRAS)
    settings = settings_for(root, channel)
    plan = make_plan(settings, read_project(root), Target.for_python("3.11"))
    with pytest.raises(ProofError, match=r"Nothing to test: .* Strict mode stops here"):
        require_channel(plan, settings)
    lenient = settings_for(root, channel, strict=False)
    require_channel(plan, lenient)  # not strict: the run goes on, the warning stays


def test_a_plan_with_nightlies_has_no_empty_sentence_or_test_note(
    project: Path, channel: PypiServer
) -> None:
    plan = make_plan(
        settings_for(project, channel), read_project(project), Target.for_python("3.11")
    )
    assert plan.empty_sentence() is None
    assert plan.notes() == []
    assert plan.to_dict()["build_tools"] == []


def test_a_group_that_asks_for_the_project_with_extras_brings_them(
    tmp_path: Path, channel: PypiServer
) -> None:
    """xarray's only test requirements are the group `dev`, which asks for
    `xarray[complete,types]`; `complete` itself names xarray's other extras.
    """
    plan = plan_of(
        tmp_path,
        channel,
        """
[project]
name = "arrays"
dependencies = ["numpy"]

[project.optional-dependencies]
viz = ["matplotlib"]
complete = ["arrays[viz]", "scipy"]

[dependency-groups]
dev = ["pytest", "arrays[complete]"]
""",
        groups=["dev"],
    )
    assert {p.name: p.reason for p in plan.packages} == {
        "numpy": "auto: dependencies",
        "matplotlib": "auto: group 'dev' via extra 'complete' via 'viz'",
        "scipy": "auto: group 'dev' via extra 'complete'",
    }


def test_dynamic_dependencies_are_named_as_the_reason_for_an_empty_plan(
    tmp_path: Path, channel: PypiServer
) -> None:
    """h5py's dependencies come from setup.py: nothing in pyproject.toml to plan from."""
    text = '[project]\nname = "h5demo"\nversion = "3.17.0dev0"\ndynamic = ["dependencies"]\n'
    plan = plan_of(tmp_path, channel, text)
    sentence = plan.empty_sentence()
    assert sentence is not None
    assert "dependencies are dynamic (the build computes them, e.g. in setup.py)" in sentence
    assert "name the dependencies to test in 'packages'" in sentence


def test_an_exact_pin_or_an_upper_bound_keeps_the_release(
    tmp_path: Path, channel: PypiServer
) -> None:
    """A nightly the project's own requirement excludes would fail for reasons that are
    not upstream's: "auto" leaves it to the base index and says why; naming it plans it."""
    root = tmp_path / "pinned"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["numpy==2.4.1", "scipy<1.17", '
        '"matplotlib>=3", "pandas"]\n',
        encoding="utf-8",
    )
    plan = make_plan(settings_for(root, channel), read_project(root), Target.for_python("3.11"))
    assert [p.name for p in plan.packages] == ["matplotlib"]
    numpy_nightly = "2.5.0.dev0+git20261123.bbbbbbb"
    assert plan.held_back == (
        ("numpy", f"dependencies requires ==2.4.1, which {numpy_nightly} does not satisfy"),
        ("scipy", "dependencies requires <1.17, which 1.17.0.dev0 does not satisfy"),
    )
    [note] = [note for note in plan.notes() if note.startswith("Not planned")]
    assert "numpy (dependencies requires ==2.4.1" in note
    assert "name the package in 'packages' to test its nightly anyway" in note
    assert plan.to_dict()["held_back"][0]["name"] == "numpy"
    named = settings_for(root, channel, packages=["numpy", "scipy"])
    plan = make_plan(named, read_project(root), Target.for_python("3.11"))
    assert [(p.name, p.source) for p in plan.packages] == [
        ("numpy", "nightly"),
        ("scipy", "nightly"),
    ]
    assert plan.held_back == ()


def test_a_pin_whose_marker_does_not_hold_is_not_a_reason(
    tmp_path: Path, channel: PypiServer
) -> None:
    root = tmp_path / "marker"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["numpy", '
        "\"numpy==1.26.4; python_version < '3.10'\"]\n",
        encoding="utf-8",
    )
    plan = make_plan(settings_for(root, channel), read_project(root), Target.for_python("3.11"))
    assert [p.name for p in plan.packages] == ["numpy"]
    old = make_plan(settings_for(root, channel), read_project(root), Target.for_python("3.9"))
    assert [name for name, _ in old.held_back] == ["numpy"]


def test_awkwards_pinned_companion_is_held_back(tmp_path: Path, nightly_index: PypiServer) -> None:
    """awkward pins its compiled companion (`awkward_cpp==56`, tests/corpus/awkward): its
    nightly is not planned, numpy's is."""
    root = tmp_path / "awkward"
    shutil.copytree(CORPUS / "awkward", root)
    make_wheel(nightly_index.directory, "awkward-cpp", "57.dev0")
    make_wheel(nightly_index.directory, "numpy", "2.5.0.dev0")
    settings = settings_for(root, nightly_index)
    plan = make_plan(settings, read_project(root), Target.for_python("3.12"))
    assert "numpy" in [p.name for p in plan.packages]
    assert [name for name, _ in plan.held_back] == ["awkward-cpp"]
    assert "requires ==56, which 57.dev0 does not satisfy" in plan.held_back[0][1]
    assert "Not planned" in plan.render()


def test_a_group_uv_cannot_read_stops_the_plan_only_where_it_is_installed(
    tmp_path: Path, channel: PypiServer
) -> None:
    root = tmp_path / "groups"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["numpy"]\n[project.optional-dependencies]\n'
        'viz = ["matplotlib"]\n[dependency-groups]\ntest = ["scipy"]\n'
        'docs = ["sphinx", {include-optional = "viz"}]\n',
        encoding="utf-8",
    )
    settings = settings_for(root, channel)
    plan = make_plan(settings, read_project(root), Target.for_python("3.11"), wider=True)
    assert [p.name for p in plan.packages] == ["numpy", "scipy"]
    with pytest.raises(
        ConfigError, match=r"Dependency group 'docs' cannot be read .*include-optional"
    ):
        make_plan(
            settings_for(root, channel, groups=["docs"]),
            read_project(root),
            Target.for_python("3.11"),
        )
