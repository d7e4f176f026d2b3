"""Write small, valid wheels and sdists directly, so tests need no build backend."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name


def _dist_name(name: str) -> str:
    """The file-name form of a project name (PEP 491 / binary distribution format)."""
    return canonicalize_name(name).replace("-", "_")


def metadata_text(
    name: str,
    version: str,
    *,
    summary: str | None = "A small package made for testing.",
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> str:
    """Core metadata 2.1 for a package."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary is not None:
        lines.append(f"Summary: {summary}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {req}" for req in requires)
    lines.extend(f"{key}: {value}" for key, value in extra_headers)
    return "\n".join(lines) + "\n\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    requires: Sequence[str] = (),
    summary: str | None = "A small package made for testing.",
    requires_python: str | None = None,
    modules: Mapping[str, str] | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
    build_tag: str | None = None,
) -> Path:
    """Write `name-version-tag.whl` into `directory` and return its path.

    By default the wheel holds one package, importable under the distribution's name,
    whose `__version__` is `version`.
    """
    dist = _dist_name(name)
    modules = (
        {f"{dist}/__init__.py": f'__version__ = "{version}"\n'} if modules is None else modules
    )
    dist_info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {path: text.encode() for path, text in modules.items()}
    files[f"{dist_info}/METADATA"] = metadata_text(
        name,
        version,
        summary=summary,
        requires=requires,
        requires_python=requires_python,
        extra_headers=extra_headers,
    ).encode()
    pure = "true" if tag.endswith("-none-any") else "false"
    wheel_lines = [
        "Wheel-Version: 1.0",
        "Generator: nightly-sessions-testing",
        f"Root-Is-Purelib: {pure}",
    ]
    wheel_lines.append(f"Tag: {tag}")
    if build_tag:
        wheel_lines.append(f"Build: {build_tag}")
    files[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode()
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()

    parts = [dist, version] + ([build_tag] if build_tag else []) + [tag]
    path = Path(directory) / ("-".join(parts) + ".whl")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(_entry(member), data)
    return path


def _entry(member: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp: the same wheel contents make the same bytes."""
    entry = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    return entry


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    summary: str | None = "A small package made for testing.",
) -> Path:
    """Write `name-version.tar.gz` with a PKG-INFO into `directory` and return its path."""
    base = f"{_dist_name(name)}-{version}"
    path = Path(directory) / f"{base}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    pkg_info = metadata_text(name, version, summary=summary).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
    return path


# What a base index must serve so that a project's tests can run: pytest, the report-log
# plugin, and the example project's build backend.
TEST_TOOLS = ("pytest==9.0.3", "pytest-reportlog==1.0.0", "flit_core==3.12.0")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nightly-sessions"


def download_wheels(requirements: Sequence[str] = TEST_TOOLS, cache: Path = CACHE) -> Path:
    """Download real wheels (with their dependencies) from PyPI once; return their folder.

    A base index stand-in serves them, so that installs in tests and the demo need no
    other index. The folder is keyed by the requirements and reused afterwards.
    """
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    target = cache / f"wheelhouse-{key}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache))
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary", ":all:", "--dest", str(staging), *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    with contextlib.suppress(OSError):  # a concurrent download may have finished first
        staging.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def repack_wheel(wheel: Path, version: str, directory: Path) -> Path:
    """Write `wheel` again into `directory` as version `version`, as a nightly build of the
    same code would be named: file name, .dist-info and .data folders, METADATA's Version
    and a RECORD with the new hashes. Benchmarks make real nightlies of release wheels so.
    """
    dist, release, tags = wheel.name[: -len(".whl")].split("-", 2)
    old, new = f"{dist}-{release}.", f"{dist}-{version}."
    record_path, metadata_path = f"{new}dist-info/RECORD", f"{new}dist-info/METADATA"
    target = Path(directory) / f"{dist}-{version}-{tags}.whl"
    target.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            name = (
                new + info.filename[len(old) :] if info.filename.startswith(old) else info.filename
            )
            if name == record_path:
                continue
            data = source.read(info)
            if name == metadata_path:
                lines = data.decode("utf-8").split("\n")
                at = next(i for i, line in enumerate(lines) if line.startswith("Version:"))
                lines[at] = f"Version: {version}"
                data = "\n".join(lines).encode("utf-8")
            entry = zipfile.ZipInfo(name, date_time=info.date_time)
            entry.external_attr, entry.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
            out.writestr(entry, data, compresslevel=1)  # fast: the benchmark makes them each run
            records.append(_record_line(name, data))
        records.append(f"{record_path},,")
        out.writestr(_entry(record_path), "\n".join(records) + "\n")
    return target
