"""Tables of the user guide made from the code: settings, exit codes, commands, sessions.

This is the one file under docs/ that imports nightly_sessions' modules: when a module
moves, its import below is the only line to change. Each table is a function returning
Markdown (tests/test_docs.py reads them); the Sphinx extension writes them to
docs/_generated/<name>.md when a build starts, and the pages `{include}` them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nightly_sessions import cli
from nightly_sessions.core import commands, config, errors, posargs
from nightly_sessions.nightly_tests import culprit, deprecations, report, rerun, upstream, verify

GENERATED = "_generated"
"""Folder, under the docs source folder, that the tables are written to."""

CLI_PROG = "python -m nightly_sessions"


def _cell(text: str) -> str:
    """Text for one table cell: on one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", r"\|")


def _prose(text: str) -> str:
    """Plain text (argparse help) as Markdown: characters Markdown would read are escaped
    outside `code` spans."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        part if part.startswith("`") else re.sub(r"([\\*<>\[\]])", r"\\\1", part) for part in parts
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


# Settings


def settings_rows() -> list[tuple[str, str, str, str, str]]:
    """(key, default, environment variable, accepted values, meaning) for every setting."""
    return [
        (key, default, env, config.KEYS[key.replace("-", "_")].accepted, meaning)
        for key, default, env, meaning in config.describe_keys()
    ]


def settings_table() -> str:
    """The settings table: one row per key of `config.describe_keys()`."""
    header = ("key", "default", "environment", "accepts", "meaning")
    rows = [
        (_code(key), _code(default), _code(env), accepted, meaning)
        for key, default, env, accepted, meaning in settings_rows()
    ]
    return _table(header, rows)


# Exit codes


def exit_code_meanings() -> dict[int, str]:
    """The exit-code table of the errors module's docstring: code -> meaning."""
    doc = inspect.getdoc(errors) or ""
    _, found, table = doc.partition("Exit codes")
    if not found:
        raise ValueError("the errors module's docstring has no 'Exit codes' table")
    meanings: dict[int, str] = {}
    code = None
    for line in table.splitlines()[1:]:
        row = re.match(r"\s+(\d+)\s+(\S.*)", line)
        if row:
            code = int(row[1])
            meanings[code] = row[2]
        elif code is not None and line.strip():
            meanings[code] += " " + line.strip()
        elif code is not None:
            break
    return meanings


def error_classes() -> list[type[errors.NightlyError]]:
    """The failure classes of the errors module, base class first."""
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.NightlyError)
    ]


def exit_codes_table() -> str:
    """Each exit code with its meaning and the failure classes that carry it."""
    meanings = exit_code_meanings()
    raised: dict[int, list[str]] = {}
    for kind in error_classes():
        if kind.exit_code not in meanings:
            raise ValueError(f"{kind.__name__}.exit_code {kind.exit_code} is not documented")
        summary = (inspect.getdoc(kind) or "").splitlines()[0]
        raised.setdefault(kind.exit_code, []).append(f"`{kind.__name__}`: {summary}")
    rows = [
        (str(code), meaning, "; ".join(raised.get(code, []))) for code, meaning in meanings.items()
    ]
    return _table(("code", "meaning", "failure class"), rows)


# The command line


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise ValueError(f"{parser.prog} has no subcommands")


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        and not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    if action.choices is not None:
        return "{" + ",".join(str(choice) for choice in action.choices) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def invocation(action: argparse.Action) -> str:
    """How an option or argument is written: `--jobs JOBS`, `[FOLDER]`, `[WORKFLOW ...]`."""
    metavar = _metavar(action)
    if not action.option_strings:
        return {"?": f"[{metavar}]", "*": f"[{metavar} ...]", "+": f"{metavar} ..."}.get(
            str(action.nargs), metavar
        )
    names = ", ".join(action.option_strings)
    return names if action.nargs == 0 else f"{names} {metavar}"


def _options_table(parser: argparse.ArgumentParser) -> str:
    rows = [(_code(invocation(action)), _prose(action.help or "")) for action in _visible(parser)]
    return _table(("option", "meaning"), rows) if rows else "No options.\n"


def cli_commands() -> dict[str, argparse.ArgumentParser]:
    """The commands of `python -m nightly_sessions`, by name."""
    return _subcommands(cli._parser())


def cli_reference() -> str:
    """Global options, then a section per command: its help, usage and options."""
    parser = cli._parser()
    parts = [
        f"Options before the command (`{CLI_PROG} [OPTIONS] COMMAND ...`):\n",
        _options_table(parser),
    ]
    for name, command in _subcommands(parser).items():
        usage = " ".join(command.format_usage().removeprefix("usage:").split())
        parts += [
            f"### `{name}`\n",
            f"{_sentence(_prose(command.description or ''))}\n",
            f"```text\n{usage}\n```\n",
            _options_table(command),
        ]
    return "\n".join(parts)


def commands_table() -> str:
    """One row per command: what it does."""
    rows = [
        (f"[`{name}`](#{name})", _prose(command.description or ""))
        for name, command in cli_commands().items()
    ]
    return _table(("command", "what it does"), rows)


# nox sessions


def session_rows() -> list[tuple[str, str, str, str]]:
    """(session, what it does, options after `--`, command-line twin) for every session,
    read from the command table that defines both."""
    rows = []
    for command in commands.COMMANDS:
        if command.session is None:
            continue
        doc = command.summary
        if command.environment == "per-python":
            doc = doc.removesuffix(".") + ", once per Python of the `python` setting."
        rows.append((command.session, doc, _session_options(command), command.name))
    return rows


def _session_options(command: commands.Command) -> str:
    entry = commands.load_entry(command)
    parser = posargs.command_parser(f"nox -s {command.session} --", command, entry.add_arguments)
    own = [_code(invocation(action)) for action in _visible(parser) if action.dest != "help"]
    if command.passthrough:
        own.append(f"anything else goes to {command.passthrough}")
    return ", ".join(own) or "none"


def sessions_table() -> str:
    """The sessions `register()` defines, with their options and command-line twins."""
    rows = [
        (_code(name), _prose(doc), takes, f"[`{twin}`](#{twin})" if twin else "")
        for name, doc, takes, twin in session_rows()
    ]
    return _table(("session", "what it does", "options after `--`", "command"), rows)


# The report


def example_report() -> dict[str, Any]:
    """A nightly-report.json as `report.RunReport` writes it, for a run whose tests failed
    and whose culprit search named numpy."""
    numpy_nightly = "2.3.0.dev0+git20250303.abc1234"
    packages = (
        verify.PackageVersion(
            "numpy", "nightly", numpy_nightly, numpy_nightly, "nightly", allowed_missing=False,
        ),
        verify.PackageVersion(
            "pandas", "base", "2.2.3", None, "missing", allowed_missing=True
        ),
    )  # fmt: skip
    test = "tests/test_fft.py::test_rfft[float32]"
    put_back = culprit.PutBack("numpy", numpy_nightly, "2.2.3", "base-release", "base")
    finding = culprit.Finding(
        "found", culprit.Budget(60.0, "50% of the failing run's 1 min 38 s, at least 1 min"),
        (test,), 1, culprits=(culprit.Culprit(put_back, (test,)),),
        trials=(
            culprit.Trial((), (test,), (test,), 1.42),
            culprit.Trial((put_back,), (test,), (), 6.08),
        ),
        spent=7.5,
    )  # fmt: skip
    failing = rerun.FailingTest(
        test, "call", "AssertionError: arrays are not equal",
        ">       assert_array_equal(rfft(x), expected)\nE       AssertionError: arrays are not "
        "equal\ntests/test_fft.py:41: AssertionError",
    )  # fmt: skip
    context = upstream.DraftContext(
        project="skymap", python="3.13.2", platform="linux-x86_64", os="Linux", installer="uv",
        nightly_index="https://pypi.anaconda.org/scientific-python-nightly-wheels/simple",
        base_index="https://pypi.org/simple", nightly_pins=(("numpy", numpy_nightly),),
        install=("pytest",), extras=("test",), source="https://github.com/example-org/skymap",
        commit="0123456789abcdef0123456789abcdef01234567",
    )  # fmt: skip
    run = report.RunReport(
        project="skymap",
        job="py3.13-Linux",
        python="3.13.2",
        nightly_index="https://pypi.anaconda.org/scientific-python-nightly-wheels/simple",
        base_index="https://pypi.org/simple",
        stage="tests",
        outcome="tests-failed",
        versions=verify.VersionReport(packages),
        dependency_check={"ok": True, "output": "", "command": "uv pip check"},
        tests=report.TestCounts(exit_code=1, passed=41, failed=1, errors=0, skipped=2),
        culprit=finding,
        drafts=upstream.drafts_for(finding.culprits, [failing], context),
        warnings=example_warnings(),
        created="2025-03-03T03:41:07+00:00",
    )
    # os and platform are those of the machine that ran the tests.
    return {**run.to_dict(), "os": "Linux", "platform": "linux-x86_64"}


def example_warnings() -> dict[str, Any]:
    """The example's warnings: numpy's new deprecation (raised with stacklevel, so at the
    project's line), one the last green run also had, and one gone since."""
    raised = {"kind": "warning", "deprecation": True, "when": "runtest", "count": 3}
    records = [
        {
            **raised, "category": "DeprecationWarning", "module": "skymap.fft",
            "message": "numpy.fft.helper is deprecated and will be removed in NumPy 3.0",
            "filename": "/work/skymap/src/skymap/fft.py", "lineno": 12,
            "distribution": "skymap", "category_distribution": None,
            "nodeid": "tests/test_fft.py::test_rfft[float32]",
        },
        {
            **raised, "category": "pandas.errors.Pandas4Warning", "module": "skymap.table",
            "message": "The 'delim_whitespace' keyword is deprecated", "count": 1,
            "filename": "/work/skymap/src/skymap/table.py", "lineno": 40,
            "distribution": "skymap", "category_distribution": "pandas",
            "nodeid": "tests/test_table.py::test_read",
        },
    ]  # fmt: skip
    known = deprecations.summarise(
        records[1:], planned=["numpy", "pandas"], project="skymap", as_errors=(), earlier=None,
        earlier_problem=None,
    )  # fmt: skip
    gone = {
        "key": "FutureWarning|skymap.io|np.find_common_type is deprecated",
        "category": "FutureWarning", "message": "np.find_common_type is deprecated",
        "package": "numpy", "nightly": True,
    }  # fmt: skip
    earlier = {"warnings": {"deprecations": [*known["deprecations"], gone]}}
    return deprecations.summarise(
        records, planned=["numpy", "pandas"], project="skymap", as_errors=("FutureWarning",),
        earlier=earlier, earlier_problem=None,
    )  # fmt: skip


def report_example() -> str:
    """The example report as a JSON code block."""
    return "```json\n" + json.dumps(example_report(), indent=2) + "\n```\n"


def status_table() -> str:
    """What each package status of the report means (`verify.MEANING`)."""
    return _table(("status", "meaning"), [(_code(k), v) for k, v in verify.MEANING.items()])


TABLES: dict[str, Callable[[], str]] = {
    "report-example": report_example,
    "package-status": status_table,
    "settings": settings_table,
    "exit-codes": exit_codes_table,
    "cli": cli_reference,
    "commands": commands_table,
    "sessions": sessions_table,
}


def command_options(name: str) -> str:
    """The options table of one command (`issue`, `upload`, ...), for its family's page."""
    return _options_table(cli_commands()[name])


def generated() -> dict[str, str]:
    """Every generated file's name (without .md) and text: TABLES, then options-<command>."""
    texts = {name: make() for name, make in TABLES.items()}
    texts.update({f"options-{name}": command_options(name) for name in cli_commands()})
    return texts


def write_tables(folder: Path) -> list[Path]:
    """Write each table to folder/<name>.md, leaving unchanged files alone; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in generated().items():
        path = folder / f"{name}.md"
        text = "<!-- Generated by docs/_ext/nightly_tables.py; do not edit. -->\n\n" + table
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _builder_inited(app: Any) -> None:
    write_tables(Path(app.srcdir) / GENERATED)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension: write the tables before the sources are read."""
    app.connect("builder-inited", _builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
