"""The user guide: tables made from the code, every page reachable, a short README.

The Sphinx build itself (`nox -s docs`, run by `nox -s ci`) is the check that the pages
render without a warning; these tests check what they say against the code.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from nightly_sessions.core import errors, run_report
from nightly_sessions.core.commands import BY_NAME, BY_SESSION, COMMANDS
from nightly_sessions.core.config import describe_keys

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def _load_tables() -> ModuleType:
    path = DOCS / "_ext" / "nightly_tables.py"
    spec = importlib.util.spec_from_file_location("nightly_tables", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tables = _load_tables()


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of the first Markdown table, cells stripped, escaped pipes kept whole."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(lines) > 2, markdown
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines[2:]]


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_settings_table_has_one_row_per_key_with_its_default_and_variable() -> None:
    rows = table_rows(tables.settings_table())
    keys = describe_keys()
    assert len(rows) == len(keys) >= 20
    for row, (key, default, env, meaning) in zip(rows, keys, strict=True):
        assert row[:3] == [f"`{key}`", f"`{default}`", f"`{env}`" if env else ""]
        assert row[4] == meaning.replace("|", r"\|")
    assert "{include} _generated/settings.md" in (DOCS / "settings.md").read_text()


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    reference = tables.cli_reference()
    sections = re.split(r"^### ", reference, flags=re.MULTILINE)[1:]
    by_name = {section.split("`")[1]: section for section in sections}
    assert list(by_name) == [command.name for command in COMMANDS]
    for name, command in tables.cli_commands().items():
        assert isinstance(command, argparse.ArgumentParser)
        options = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", command.format_help())) - {"--help"}
        documented = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", by_name[name]))
        assert options <= documented, (name, options - documented)
        assert BY_NAME[name].summary.lower() in by_name[name].lower()
    for option in ("--project", "--verbose", "--version"):
        assert f"`{option}" in reference.split("### ")[0]
    assert [row[0] for row in table_rows(tables.commands_table())] == [
        f"[`{command.name}`](#{command.name})" for command in COMMANDS
    ]


def test_the_exit_code_table_names_every_failure_class() -> None:
    rows = {int(row[0]): row for row in table_rows(tables.exit_codes_table())}
    assert set(rows) == {0, 1, 2, 3, 4, 5}
    kinds = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.NightlyError)
    ]
    assert len(kinds) >= 5
    for kind in kinds:
        assert f"`{kind.__name__}`" in rows[kind.exit_code][2]
    assert rows[4][1].startswith("the proof failed")


def test_the_sessions_table_lists_every_session_with_its_command() -> None:
    rows = table_rows(tables.sessions_table())
    assert [row[0] for row in rows] == [f"`{name}`" for name in BY_SESSION]
    twins = {row[0].strip("`"): row[3] for row in rows}
    assert twins["nightly_tests"] == "[`run`](#run)"
    assert twins["upload_nightly"] == "[`upload`](#upload)"
    upload = next(row for row in rows if row[0] == "`upload_nightly`")
    assert "`--replace`" in upload[2]
    assert "`--dry-run`" in upload[2]


def test_the_readme_sessions_table_lists_exactly_the_sessions() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Sessions", 1)[1].split("\n## ", 1)[0]
    listed = [row[0].strip("`") for row in table_rows(section)]
    assert sorted(listed) == sorted(BY_SESSION)


def test_the_example_report_is_a_schema_3_report_and_its_fields_are_documented() -> None:
    example = tables.example_report()
    assert run_report.schema_problem(example) is None
    assert example["schema"] == run_report.SCHEMA == 3
    page = (DOCS / "report.md").read_text(encoding="utf-8")
    for field in example:
        assert f"`{field}`" in page, field
    for field in example["packages"][0]:
        assert field in page, field
    culprit = example["culprit"]
    assert culprit["status"] == "found"
    for table in (culprit, culprit["culprits"][0], culprit["trials"][1], culprit["drafts"][0]):
        for field in table:
            assert f"`{field}`" in page, field
    warnings = example["warnings"]
    assert [entry["new"] for entry in warnings["deprecations"]] == [True, False]
    for table in (warnings, warnings["deprecations"][0], warnings["gone"][0]):
        for field in table:
            assert f"`{field}`" in page, field


def test_every_page_is_in_a_toctree_and_every_include_is_generated() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", index, flags=re.DOTALL)
    listed = {
        line.strip() for block in blocks for line in block.splitlines() if line and line[0] != ":"
    }
    assert listed == {page.stem for page in pages()} - {"index"}
    assert "first-contact" in listed
    included = {
        name
        for page in pages()
        for name in re.findall(r"\{include\} _generated/([\w-]+)\.md", page.read_text())
    }
    # Each command's options table is in the CLI reference; a family page includes its own.
    generated = set(tables.generated())
    assert included <= generated
    assert {name for name in generated if not name.startswith("options-")} <= included


def test_write_tables_writes_each_table_once(tmp_path: Path) -> None:
    paths = tables.write_tables(tmp_path)
    assert {path.stem for path in paths} == set(tables.generated())
    before = {path: path.stat().st_mtime_ns for path in paths}
    tables.write_tables(tmp_path)
    assert {path: path.stat().st_mtime_ns for path in paths} == before


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_readme_is_short_opens_with_the_two_commands_and_its_links_resolve() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if not line.startswith("#")]
    assert [command.rsplit("&& ", 1)[1] for command in commands] == [
        "python3 -m nox -s demo",
        "python3 -m nox -s ci",
    ]
    assert readme.index("```bash") < readme.index("\n## ")
    links = re.findall(r"\]\((docs/[^)#]+)(?:#([^)]+))?\)", readme)
    assert len(links) >= 10
    for target, anchor in links:
        assert (ROOT / target).exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / target).read_text(), flags=re.MULTILINE)
            assert anchor in {_slug(heading) for heading in headings}, (target, anchor)


def test_the_readme_keeps_the_section_the_noxfile_answer_refers_to() -> None:
    validators = (ROOT / "copier-includes" / "validators.jinja").read_text(encoding="utf-8")
    assert '"Switching the noxfile" in the nightly-sessions README' in validators
    assert "**Switching the noxfile.**" in README.read_text(encoding="utf-8")


def test_every_development_session_is_described() -> None:
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    names = re.findall(r"@nox\.session\ndef (\w+)\(", noxfile)
    assert "docs" in names
    page = (DOCS / "development.md").read_text(encoding="utf-8")
    for name in names:
        assert f"| `{name}` |" in page, name


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_pages_link_to_pages_that_exist(page: Path) -> None:
    for target in re.findall(r"\]\(([\w-]+\.md)(?:#[^)]*)?\)", page.read_text()):
        assert (DOCS / target).is_file(), target
