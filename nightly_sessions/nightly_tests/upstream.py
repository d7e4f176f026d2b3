"""A ready-to-paste report for the culprit's own tracker, one per culprit.

Pure: the culprit, the failing tests' excerpts and the run's context in, Markdown out.
It says which tests fail, quotes the assertion or the failing traceback entry, names the
nightly that fails and the version that passes, gives the installer commands that
reproduce it in a fresh environment, and the Python and platform. It never carries a
secret (every text is redacted, index tokens included) nor an `@mention` (an `@` before a
name gets a zero-width space, so pasting it pings nobody).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nightly_sessions.core.markdown import fenced
from nightly_sessions.core.redact import REDACTED, redact
from nightly_sessions.nightly_tests.culprit import ORIGIN_WORDS, Culprit
from nightly_sessions.nightly_tests.rerun import FailingTest

DRAFT_NAME = "upstream-{package}.md"  # beside nightly-report.json
# A GitHub mention: `@` and a name, after the start or any character but a letter, digit
# or underscore (an email address is no mention).
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@(?=[A-Za-z0-9])")
ZERO_WIDTH_SPACE = "\u200b"
QUOTED_TESTS = 3  # excerpts quoted; the other failing tests are listed only


@dataclass(frozen=True)
class DraftContext:
    """The run the draft speaks for."""

    project: str | None
    python: str  # the full version, 3.13.2
    platform: str  # sysconfig's, linux-x86_64
    os: str
    installer: str  # "uv" or "pip"
    nightly_index: str
    base_index: str
    nightly_pins: tuple[tuple[str, str], ...]  # every nightly the tests ran with
    install: tuple[str, ...]  # what the first install names besides the project: extras, groups
    extras: tuple[str, ...] = ()
    source: str | None = None  # where the project's code is: a repository URL at a commit
    commit: str | None = None
    # The upstreams from git ('git-packages') the tests ran with: (name, git+URL@commit).
    git_pins: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Draft:
    """One culprit's draft and the file it is written to, beside nightly-report.json."""

    package: str
    file: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"package": self.package, "file": self.file, "text": self.text}


def drafts_for(
    culprits: Sequence[Culprit], failing: Sequence[FailingTest], context: DraftContext
) -> list[Draft]:
    """A draft per culprit package (the first finding of a package wins)."""
    by_id = {test.nodeid: test for test in failing}
    seen: dict[str, Draft] = {}
    for culprit in culprits:
        name = culprit.put_back.name
        if name not in seen:
            seen[name] = Draft(
                name, DRAFT_NAME.format(package=name), render_draft(culprit, by_id, context)
            )
    return list(seen.values())


def neutralise_mentions(text: str) -> str:
    """`text` with every `@name` broken by a zero-width space, so that it pings no one."""
    return _MENTION.sub("@" + ZERO_WIDTH_SPACE, text)


def render_draft(
    culprit: Culprit, failing: Mapping[str, FailingTest], context: DraftContext
) -> str:
    """The draft for `culprit`'s tracker: title line, then the body to paste."""
    put = culprit.put_back
    project = context.project or "a downstream project"
    first = culprit.tests[0].split("::")[-1]
    more = f" and {len(culprit.tests) - 1} more" if len(culprit.tests) > 1 else ""
    title = (
        f"Title: nightly {put.name} {put.nightly} breaks {project}'s {first}{more} "
        f"({put.version} passes)"
    )
    parts = [
        title,
        "---",
        (
            f"The nightly wheel of **{put.name} {put.nightly}** makes tests of {project} "
            f"fail; with **{put.name} {put.version}** ({ORIGIN_WORDS[put.origin]}) and "
            "everything else unchanged, they pass (and they fail again when re-run as "
            f"installed, so they are not flaky). Found by the nightly tests of {project} "
            "(scientific-python SPEC 4), which put back one nightly at a time."
        ),
        "**Failing tests**",
        fenced("\n".join(culprit.tests)),
    ]
    parts += _excerpts(culprit.tests, failing)
    parts += [
        f"**To reproduce** in a fresh environment (Python {context.python} on {context.platform}):",
        fenced("\n".join(reproduce_commands(culprit, context)), info="bash"),
        "**Environment**",
        _environment(context),
    ]
    return neutralise_mentions(redact("\n\n".join(parts) + "\n"))


def _excerpts(tests: Sequence[str], failing: Mapping[str, FailingTest]) -> list[str]:
    parts: list[str] = []
    for test in tests[:QUOTED_TESTS]:
        found = failing.get(test)
        if found is None or not (found.excerpt or found.message):
            continue
        phase = "" if found.when == "call" else f" (in {found.when})"
        parts += [f"`{test}`{phase}:", fenced(found.excerpt or found.message, info="pytb")]
    if len(tests) > QUOTED_TESTS and parts:
        parts.append(f"(the other {len(tests) - QUOTED_TESTS} fail the same way or similarly)")
    return parts


def _quote(args: Sequence[str]) -> str:
    return " ".join(shlex.quote(arg) for arg in args)


def reproduce_commands(culprit: Culprit, context: DraftContext) -> list[str]:
    """Shell lines: the project from the base index, the nightlies from the channel, pytest
    on the failing tests (fails); the put-back version, pytest again (passes)."""
    put = culprit.put_back
    uv = context.installer == "uv"
    nightly_index, base_index = redact(context.nightly_index), redact(context.base_index)
    lines = []
    if context.source:
        folder = context.source.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "project"
        lines.append(f"git clone {shlex.quote(context.source)} && cd {shlex.quote(folder)}")
        if context.commit:
            lines.append(f"git checkout {shlex.quote(context.commit)}")
    else:
        lines.append(f"# in a checkout of {context.project or 'the project'}")
    activate = r".venv\Scripts\activate" if context.os == "Windows" else ". .venv/bin/activate"
    short = ".".join(context.python.split(".")[:2])
    if uv:
        lines.append(f"uv venv --python {short} .venv && {activate}")
        install = ["uv", "pip", "install"]
        index, pre = "--default-index", "--prerelease=allow"
    else:
        lines.append(f"python{short} -m venv .venv && {activate}")
        install = ["python", "-m", "pip", "install"]
        index, pre = "--index-url", "--pre"
    if REDACTED in nightly_index + base_index:
        lines.append(f"# an index below needs a token: put yours where it says {REDACTED}")
    extras = f"[{','.join(context.extras)}]" if context.extras else ""
    lines.append(_quote([*install, index, base_index, f".{extras}", *context.install]))
    pins = [f"{name}=={version}" for name, version in context.nightly_pins]
    wheels = ["--only-binary", ":all:", "--no-deps"]
    lines.append(_quote([*install, pre, *wheels, index, nightly_index, *pins]))
    if context.git_pins:
        from_git = [f"{name} @ {redact(url)}" for name, url in context.git_pins]
        lines.append(_quote([*install, "--no-deps", index, base_index, *from_git]))
    pytest = _quote(["python", "-m", "pytest", *culprit.tests])
    lines.append(f"{pytest}  # fails with {put.name} {put.nightly}")
    back_index = nightly_index if put.index == "nightly" else base_index
    flags = [pre] if put.index == "nightly" else []
    lines.append(
        _quote([*install, *flags, *wheels, index, back_index, f"{put.name}=={put.version}"])
    )
    lines.append(f"{pytest}  # passes with {put.name} {put.version}")
    return lines


def _environment(context: DraftContext) -> str:
    rows = [
        f"- Python {context.python} on {context.platform} ({context.os})",
        f"- nightly index: `{context.nightly_index}`",
        f"- base index: `{context.base_index}`",
    ]
    others = [f"{name} {version}" for name, version in context.nightly_pins]
    if others:
        rows.append(f"- nightlies installed: {', '.join(others)}")
    if context.git_pins:
        built = ", ".join(f"{name} from `{redact(url)}`" for name, url in context.git_pins)
        rows.append(f"- from git: {built}")
    if context.source:
        at = f" at {context.commit}" if context.commit else ""
        rows.append(f"- {context.project or 'project'}: {context.source}{at}")
    return "\n".join(rows)
