"""Which files an upload sends, and every one checked before any network call."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from channel.upload_world import VERSION, options, run, wheels
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.testing.anaconda import AnacondaServer
from nightly_sessions.testing.wheelhouse import make_sdist, make_wheel


def test_sdists_only_when_asked_and_to_the_label(server: AnacondaServer, dist: Path) -> None:
    run(options(server, dist, sdist=True, labels=("nightly",)))
    assert sorted(server.files()) == sorted(p.name for p in dist.iterdir())
    assert {f.labels for f in server.files().values()} == {("nightly",)}


def test_two_labels_put_every_file_under_both(server: AnacondaServer, dist: Path) -> None:
    """One upload with two labels: anaconda-client sends both, each index lists every file."""
    report = run(options(server, dist, labels=("main", "nightly"), verify=True))
    assert {f.labels for f in server.files().values()} == {("main", "nightly")}
    assert "(labels main, nightly): 3 uploaded, 0 skipped, 0 failed." in report.render()
    for label in ("main", "nightly"):
        with urllib.request.urlopen(f"{server.simple_url(label=label)}/skymap/") as page:
            listed = page.read().decode()
        assert all(name in listed for name in server.files())


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ({"version": "1.0"}, "is a release, which must never be in the nightly channel"),
        ({"summary": None}, "has no Summary"),
    ],
)
def test_one_bad_file_stops_before_any_network_call(
    server: AnacondaServer, dist: Path, problem: dict[str, Any], expected: str
) -> None:
    make_wheel(dist, "skymap", **{"version": VERSION, "tag": "py2-none-any", **problem})
    with pytest.raises(ConfigError, match=expected):
        run(options(server, dist))
    assert server.calls == []


def test_only_sdists_is_one_sentence(server: AnacondaServer, tmp_path: Path) -> None:
    folder = tmp_path / "sdists"
    make_sdist(folder, "skymap", VERSION)
    with pytest.raises(ConfigError, match="holds only sdists and sdists are not uploaded"):
        run(options(server, folder))
    assert server.calls == []


def test_a_file_that_cannot_be_read_is_one_sentence(
    server: AnacondaServer, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = wheels(dist)[1]
    real = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == target:
            raise PermissionError(13, "Permission denied")
        return real(path)

    with monkeypatch.context() as patch:  # undone before the teardown reads every file
        patch.setattr(Path, "read_bytes", read_bytes)
        with pytest.raises(ConfigError) as caught:
            run(options(server, dist))
    assert str(caught.value) == (
        f"Could not read {target} (Permission denied); check that it is still there and "
        "readable, then run again."
    )
    assert server.calls == []
