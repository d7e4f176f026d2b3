from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.core.config import (
    DEFAULT_NIGHTLY_INDEX,
    Settings,
    describe_keys,
    load_settings,
)
from nightly_sessions.core.errors import ConfigError


def write_pyproject(root: Path, table: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text(
        f'[project]\nname = "demo"\n\n[tool.nightly-sessions]\n{table}\n', encoding="utf-8"
    )
    return root


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.nightly_index_url == DEFAULT_NIGHTLY_INDEX
    assert settings.base_index_url == "https://pypi.org/simple"
    assert settings.packages == "auto"
    assert settings.strict is True
    assert settings.installer == "auto"
    assert settings.report_path == tmp_path.resolve() / "nightly-reports"


def test_layers_override_in_order(tmp_path: Path) -> None:
    root = write_pyproject(
        tmp_path,
        'packages = ["NumPy", "scipy"]\nreport-dir = "from-file"\nstrict = false\ninstaller = "pip"',
    )
    settings = load_settings(
        root,
        {"report_dir": "from-register", "strict": True},
        environ={
            "NIGHTLY_REPORT_DIR": "from-env",
            "NIGHTLY_INDEX_URL": "http://127.0.0.1:1/simple/",
        },
    )
    assert settings.packages == ("numpy", "scipy")  # canonicalised
    assert settings.installer == "pip"  # file
    assert settings.strict is True  # register beats file
    assert settings.report_dir == "from-env"  # environment beats register
    assert settings.nightly_index_url == "http://127.0.0.1:1/simple"


def test_environment_lists_and_booleans(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path, environ={"NIGHTLY_PACKAGES": "numpy, scipy", "NIGHTLY_STRICT": "false"}
    )
    assert settings.packages == ("numpy", "scipy")
    assert settings.strict is False


def test_free_threaded_pythons_in_every_layer(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, 'python = ["3.13", "3.14t"]')
    assert load_settings(root, environ={}).python == ("3.13", "3.14t")
    assert load_settings(root, {"python": ["3.13t"]}, environ={}).python == ("3.13t",)
    from_env = load_settings(root, environ={"NIGHTLY_PYTHON": "3.14t, 3.15t"})
    assert from_env.python == ("3.14t", "3.15t")
    with pytest.raises(ConfigError, match="environment variable NIGHTLY_PYTHON"):
        load_settings(root, environ={"NIGHTLY_PYTHON": "3.14x"})


def test_unknown_key_names_key_and_suggests(tmp_path: Path) -> None:
    root = write_pyproject(tmp_path, 'pakages = ["numpy"]')
    with pytest.raises(
        ConfigError,
        match=r"Unknown setting 'pakages' in \[tool.nightly-sessions\].*Did you mean 'packages'",
    ):
        load_settings(root, environ={})


def test_unknown_register_keyword(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown setting 'colour' in nightly_sessions.register"):
        load_settings(tmp_path, {"colour": "red"}, environ={})


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("installer", "conda", '"auto", "uv" or "pip"'),
        ("nightly_index_url", "ftp://example", "an http"),
        ("python", ["2.7"], "a list of versions"),
        ("python", ["3.14x"], '"3.14t" for a free-threaded build'),
        ("python", ["3.12t"], '"3.14t" for a free-threaded build'),  # none before 3.13
        ("python", ["3.14T"], "a list of versions"),
        ("packages", ["not a name!"], "package names"),
        ("strict", "maybe", "true or false"),
        ("timeout", -1, "a positive number"),
        ("retries", 1.5, "a whole number"),
    ],
)
def test_bad_values_name_key_value_and_accepted(
    tmp_path: Path, key: str, value: object, accepted: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, {key: value}, environ={})
    message = str(caught.value)
    assert repr(key.replace("_", "-")) in message
    assert repr(value) in message
    assert accepted in message


def test_bad_environment_value_names_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable NIGHTLY_INSTALLER"):
        load_settings(tmp_path, environ={"NIGHTLY_INSTALLER": "conda"})


def test_malformed_pyproject_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.nightly-sessions\npackages = 1\n", encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"pyproject.toml is not valid TOML \(.*line 1.*\); fix the file"
    ):
        load_settings(tmp_path, environ={})


def test_every_key_is_a_settings_field_and_documented() -> None:
    rows = describe_keys()
    assert {row[0] for row in rows} >= {
        "nightly-index-url",
        "base-index-url",
        "packages",
        "allow-missing",
    }
    fields = set(Settings.__dataclass_fields__)
    assert {row[0].replace("-", "_") for row in rows} <= fields
    assert all(row[3] for row in rows)


@pytest.mark.parametrize("text", ["tool = 5\n", '[tool]\nnightly-sessions = "x"\n'])
def test_tool_tables_of_the_wrong_type_are_sentences(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tool.nightly-sessions\] in .* must be a table"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity"])
def test_timeout_from_the_environment_must_be_finite(tmp_path: Path, value: str) -> None:
    with pytest.raises(
        ConfigError, match=r"environment variable NIGHTLY_TIMEOUT .* must be a positive number"
    ):
        load_settings(tmp_path, environ={"NIGHTLY_TIMEOUT": value})


@pytest.mark.parametrize("value", ["inf", "nan", "+inf"])
def test_timeout_in_pyproject_must_be_finite(tmp_path: Path, value: str) -> None:
    root = write_pyproject(tmp_path, f"timeout = {value}")  # TOML floats inf and nan
    with pytest.raises(ConfigError, match=r"Setting 'timeout' in \[tool.nightly-sessions\]"):
        load_settings(root, environ={})


def test_a_token_in_a_bad_url_never_reaches_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"NIGHTLY_INDEX_URL": "htp://x/t/sekrit-TOKEN-123"})
    message = str(caught.value)
    assert "'htp://x/t/***'" in message
    assert "sekrit-TOKEN-123" not in message
