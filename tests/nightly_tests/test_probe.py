from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.utils import canonicalize_name

from nightly_sessions.core.errors import ToolError
from nightly_sessions.nightly_tests.probe import MARKER, SCRIPT, parse, probe, start_probe


def test_probe_reads_this_interpreter() -> None:
    state = probe(sys.executable)
    assert state.python == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert state.implementation == sys.implementation.name
    assert state.version_of("Packaging") is not None  # canonical lookup
    assert state.markers["sys_platform"] == sys.platform


def test_requirements_evaluate_markers() -> None:
    line = MARKER + (
        '{"python": "3.11", "implementation": "cpython", "markers": {"python_version": "3.11", '
        '"sys_platform": "linux"}, "distributions": {"Demo": {"version": "1.0", "requires": '
        '["numpy>=2", "pywin32; sys_platform == \\"win32\\"", "pytest; extra == \\"test\\"", "bad req!"]}}}'
    )
    state = parse("noise before\n" + line + "\n")
    assert [str(r) for r in state.requirements_of("demo")] == ["numpy>=2"]
    assert state.requirements_of("absent") == []


def test_unreadable_probe_output_is_a_sentence() -> None:
    with pytest.raises(ToolError, match="probe printed nothing readable"):
        parse("Traceback (most recent call last):\n")


def test_truncated_probe_line_is_a_sentence() -> None:
    with pytest.raises(ToolError, match="probe printed nothing readable"):
        parse(MARKER + '{"python": "3.1')
    with pytest.raises(ToolError, match="probe printed nothing readable"):
        parse(MARKER + '{"python": "3.11"}')


def test_the_probe_reports_a_free_threaded_build() -> None:
    """This machine has no free-threaded Python: the probe runs with sysconfig saying so."""
    pretend = (
        "import sysconfig; real = sysconfig.get_config_var; "
        "sysconfig.get_config_var = lambda name: 1 if name == 'Py_GIL_DISABLED' else real(name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{pretend}\nexec({SCRIPT!r})"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    state = parse(done.stdout)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (state.python, state.free_threaded) == (f"{version}t", True)
    assert state.markers["python_version"] == version  # markers know no "t"
    assert not probe(sys.executable).free_threaded


def test_the_light_probe_reads_only_the_interpreter() -> None:
    full, light = probe(sys.executable), probe(sys.executable, distributions=False)
    assert (light.python, light.implementation) == (full.python, full.implementation)
    assert dict(light.markers) == dict(full.markers)
    assert light.distributions == {}
    assert full.distributions


FOLDED = """\
Metadata-Version: 2.1
Name: Folded
Version: 1.2
License: BSD
        \n        Requires-Dist: inside-the-license
Requires-Dist: numpy>=2
Requires-Dist: pytest;
  extra == "test"
Requires-Dist:scipy

Requires-Dist: in-the-description
"""


def _probe_path(entries: list[Path]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The probe's view of the distributions on `entries`, run with them on sys.path."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, entries))},
    )  # fmt: skip
    state = parse(done.stdout)
    return {name: (d.version, d.requires) for name, d in state.distributions.items()}


def test_the_probe_reads_metadata_as_importlib_does(tmp_path: Path) -> None:
    """The probe parses each METADATA once with its own header reader: on every layout it
    reads itself (dist-info, egg-info folder with requires.txt, egg-info file, folded and
    whitespace-only lines, a description) it agrees with importlib.metadata."""
    site = tmp_path / "site"
    (site / "Folded-1.2.dist-info").mkdir(parents=True)
    (site / "Folded-1.2.dist-info" / "METADATA").write_text(FOLDED)
    (site / "legacy-0.5.egg-info").mkdir()
    (site / "legacy-0.5.egg-info" / "PKG-INFO").write_text("Name: legacy\nVersion: 0.5\n")
    (site / "legacy-0.5.egg-info" / "requires.txt").write_text("six>=1\n\n[test]\npytest\n")
    (site / "single-2.0.egg-info").write_text("Metadata-Version: 1.0\nName: single\nVersion: 2.0\n")
    (site / "nameless-1.0.dist-info").mkdir()
    (site / "nameless-1.0.dist-info" / "METADATA").write_text("Version: 1.0\n")
    seen = _probe_path([site])
    expected: dict[str, tuple[str, tuple[str, ...]]] = {
        canonicalize_name(dist.metadata["Name"]): (dist.version, tuple(dist.requires or []))
        for dist in metadata.distributions(path=[str(site)])
        if dist.metadata["Name"]
    }
    assert set(expected) == {"folded", "legacy", "single"}
    assert seen["legacy"] == expected["legacy"] == ("0.5", ("six>=1", 'pytest; extra == "test"'))
    assert seen["single"] == expected["single"]
    assert seen["folded"][0] == expected["folded"][0] == "1.2"
    # A folded Requires-Dist (no tool writes one) is joined into one readable requirement,
    # where importlib.metadata keeps the fold's indent and line break.
    assert seen["folded"][1] == ("numpy>=2", 'pytest; extra == "test"', "scipy")
    assert len(expected["folded"][1]) == 3
    assert "nameless" not in seen


def test_the_probe_leaves_zipped_distributions_to_importlib(tmp_path: Path) -> None:
    """A zip file on sys.path (an embedded Python's stdlib, a zipped egg) is only read by
    importlib.metadata, so the probe hands the whole scan to it."""
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as bundle:
        bundle.writestr("zipped-3.1.dist-info/METADATA", "Name: zipped\nVersion: 3.1\n")
    assert _probe_path([tmp_path / "bundle.zip"])["zipped"] == ("3.1", ())


def test_the_probe_writes_its_line_as_json_dumps_would(tmp_path: Path) -> None:
    """The probe writes JSON without importing json (which imports re): the same bytes
    as json.dumps, escapes included, for text with quotes, controls and non-ASCII."""
    site = tmp_path / "site"
    (site / "odd-1.0.dist-info").mkdir(parents=True)
    (site / "odd-1.0.dist-info" / "METADATA").write_text(
        'Name: odd\nVersion: 1.0\nRequires-Dist: caf\u00e9 ; extra == "\\"x\\"\t\x7f\U0001f600"\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(site)},
    )  # fmt: skip
    line = next(line for line in done.stdout.splitlines() if line.startswith(MARKER))
    payload = line[len(MARKER) :]
    assert json.dumps(json.loads(payload)) == payload
    assert parse(done.stdout).distributions["odd"].requires == (
        'caf\u00e9 ; extra == "\\"x\\"\t\x7f\U0001f600"',
    )


def test_the_probe_markers_are_packagings() -> None:
    """On POSIX the probe reads os.uname() and sys.version instead of importing platform;
    the marker values are still exactly what packaging evaluates markers with."""
    state = probe(sys.executable, distributions=False)
    assert dict(state.markers) == {
        key: value for key, value in default_environment().items() if key in state.markers
    }
    assert len(state.markers) == 11


def test_a_started_probe_reads_the_interpreter_as_the_light_probe_does() -> None:
    assert start_probe(sys.executable).result() == probe(sys.executable, distributions=False)


def test_a_started_probe_of_a_missing_python_fails_with_a_sentence(tmp_path: Path) -> None:
    probing = start_probe(tmp_path / "bin" / "python")
    with pytest.raises(ToolError, match=r"^Could not start .*bin/python to inspect the environ"):
        probing.result()
