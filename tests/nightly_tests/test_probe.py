from __future__ import annotations

import subprocess
import sys

import pytest

from nightly_sessions.core.errors import ToolError
from nightly_sessions.nightly_tests.probe import MARKER, SCRIPT, parse, probe


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
