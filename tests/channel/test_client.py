"""Finding and running anaconda-client's Python: every way it can fail is one sentence."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from channel.upload_world import running
from nightly_sessions.channel.client import (
    ClientFile,
    ClientStopped,
    FileOutcome,
    find_client,
    interpreter_for,
    run_client,
)
from nightly_sessions.core.errors import ConfigError, ToolError

TOKEN = "client-token-Vb4n"


def script(folder: Path, body: str, name: str = "python") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def files(folder: Path, count: int) -> list[ClientFile]:
    """Files the stand-in never opens; only the job on stdin carries them."""
    return [
        ClientFile(folder / f"skymap-1.0.dev{n}-py3-none-any.whl", "skymap", f"1.0.dev{n}",
                   "0" * 64, "0" * 32)
        for n in range(count)
    ]  # fmt: skip


def run(python: Path, items: list[ClientFile], **kwargs: object) -> object:
    return run_client(
        python, items, api_url="http://127.0.0.1:9", channel="c", labels=["main"], token=TOKEN,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_client_missing_is_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"`anaconda` is not on PATH; install it with"):
        find_client()
    with pytest.raises(ConfigError, match=r"/no/such/anaconda does not exist; install it with"):
        find_client("/no/such/anaconda")


@pytest.mark.parametrize(
    "head",
    [
        "#!{python}\n",
        "#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n",
        "#!/usr/bin/env python-for-test\n",
    ],
    ids=["shebang", "sh-exec", "env"],
)
def test_interpreter_is_read_from_the_anaconda_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: str
) -> None:
    python = tmp_path / "py" / "python-for-test"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\nexit 0\n")  # imports anything it is asked to
    python.chmod(0o755)
    monkeypatch.setenv("PATH", f"{python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    anaconda = tmp_path / "bin" / "anaconda"
    anaconda.parent.mkdir()
    anaconda.write_text(head.format(python=python) + "import sys\n")
    assert interpreter_for(anaconda) == python


def test_a_shim_is_not_taken_for_the_clients_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyenv's shims are bash scripts, and the python beside one is another shim."""
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in ("anaconda", "python"):
        (shims / name).write_text("#!/usr/bin/env bash\nexit 1\n")
        (shims / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}/usr/bin{os.pathsep}/bin")
    with pytest.raises(ConfigError) as caught:
        find_client()
    assert str(caught.value).startswith(
        f"Cannot find the Python with anaconda-client behind {shims / 'anaconda'} (a shim"
    )
    assert "pass --anaconda" in str(caught.value)


def test_interpreter_that_cannot_be_found_is_one_sentence(tmp_path: Path) -> None:
    anaconda = tmp_path / "bin" / "anaconda"
    anaconda.parent.mkdir()
    anaconda.write_text("#!/no/such/python3\nimport sys\n")
    with pytest.raises(ConfigError) as caught:
        interpreter_for(anaconda)
    assert str(caught.value) == (
        f"Cannot find the Python with anaconda-client behind {anaconda} (a shim or a script "
        "of another tool?); reinstall it with `python -m pip install --force-reinstall "
        "anaconda-client==1.14.1`, or pass --anaconda with the path of the `anaconda` in the "
        "environment where it is installed."
    )
    assert "\n" not in str(caught.value)


def test_a_python_that_cannot_start_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"Could not start .*/missing/python to run anaconda-c"):
        run(tmp_path / "missing" / "python", files(tmp_path, 1))


def test_a_client_that_crashes_is_one_sentence_with_its_last_words(tmp_path: Path) -> None:
    python = script(tmp_path / "bin", "cat >/dev/null; echo 'Segmentation fault' >&2; exit 139")
    with pytest.raises(ClientStopped) as caught:
        run(python, files(tmp_path, 2))
    assert str(caught.value).startswith(f"anaconda-client ({python}) stopped with exit code 139;")
    assert caught.value.detail == "Segmentation fault"
    assert caught.value.exit_code == 5


def test_a_client_that_dies_before_reading_its_job_is_one_sentence(tmp_path: Path) -> None:
    """A job larger than a pipe's buffer, and a client that never reads it: no BrokenPipeError."""
    python = script(tmp_path / "bin", "exit 1")
    with pytest.raises(
        ClientStopped,
        match=r"stopped with exit code 1; if it happens again, reinstall it with `python -m pip",
    ):
        run(python, files(tmp_path / ("long-folder-name" * 8), 2000))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_an_interrupted_run_kills_the_client(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    [item] = files(tmp_path, 1)
    event = f'{{"event": "file", "path": "{item.path}", "outcome": "uploaded", "attempts": 1}}'
    python = script(tmp_path / "bin", f"echo $$ > {pidfile}; echo '{event}'; exec sleep 60")

    def interrupt(outcome: FileOutcome) -> None:
        assert outcome.path == item.path
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run(python, [item], on_outcome=interrupt)
    assert time.monotonic() - started < 30
    assert not running(int(pidfile.read_text()))
