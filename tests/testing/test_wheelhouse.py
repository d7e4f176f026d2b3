"""The benchmark's nightlies: release wheels repacked as dev versions must be real wheels."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from nightly_sessions.testing.wheelhouse import make_wheel, repack_wheel

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "bench_nightly_tests.py"


def test_a_repacked_wheel_is_the_same_code_under_the_new_version(tmp_path: Path) -> None:
    release = make_wheel(tmp_path / "release", "Tiny-Thing", "2.4.6", requires=["numpy>=2"])
    nightly = repack_wheel(release, "2.5.0.dev0", tmp_path / "nightly")
    assert nightly.name == "tiny_thing-2.5.0.dev0-py3-none-any.whl"
    with zipfile.ZipFile(nightly) as archive:
        names = set(archive.namelist())
        metadata = archive.read("tiny_thing-2.5.0.dev0.dist-info/METADATA").decode()
        record = archive.read("tiny_thing-2.5.0.dev0.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            assert path in names
            if digest:  # every file but RECORD itself, with its new hash
                data = archive.read(path)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data))
        code = archive.read("tiny_thing/__init__.py").decode()
    assert "Version: 2.5.0.dev0\n" in metadata
    assert "Requires-Dist: numpy>=2" in metadata
    assert not any(name.startswith("tiny_thing-2.4.6") for name in names)
    assert {line.split(",")[0] for line in record} == names
    assert code == '__version__ = "2.4.6"\n'  # the release's code, unchanged


def test_the_benchmark_starts_quickly() -> None:
    """The benchmarks run under `nox -s bench`, never in CI: this only checks that the
    script still imports and parses its options."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--sample {small,real,both}" in done.stdout
