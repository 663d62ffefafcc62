"""The ini file pytest would read in a folder, found and read as pytest does, for commands that run outside pytest.

pytest walks up from the folder and takes, in each folder, the first of `pytest.ini`, `.pytest.ini`,
`pyproject.toml` (with `[tool.pytest.ini_options]`), `tox.ini` (with `[pytest]`), `setup.cfg` (with
`[tool:pytest]`) that holds its configuration (pytest 9 adds `pytest.toml` and `[tool.pytest]` first); the folder
of that file is the rootdir. Only public formats are read here (iniconfig, tomllib), never pytest's internals.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import iniconfig
import pytest

from ..errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest itself depends on tomli there
    import tomli as tomllib

_PYTEST_9 = tuple(pytest.version_tuple[:1]) >= (9,)
#: In the order pytest tries them in each folder.
CONFIG_NAMES = (
    *(("pytest.toml", ".pytest.toml") if _PYTEST_9 else ()),
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
)


@dataclass(frozen=True)
class IniFile:
    """pytest's configuration of a folder: its rootdir, the file read (None: no file) and that file's values."""

    rootdir: Path
    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def linelist(self, key: str) -> list[str]:
        """A `linelist` value as pytest's `config.getini` gives it: a string's lines, stripped, the empty ones
        dropped; a TOML list as it is."""
        value = self.values.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(item) for item in value]
        return [line.strip() for line in str(value).split("\n") if line.strip()]

    def string(self, key: str) -> str:
        """A `string` value ("" when the key is not set); a TOML scalar as its text, as pytest's ini mode reads it."""
        value = self.values.get(key)
        if value is None:
            return ""
        if isinstance(value, list):
            raise ConfigError(f"ini key {key} in {self.path}: takes one value, not a list ({value!r})")
        return str(value)


def find(start: Path) -> IniFile:
    """The configuration pytest run in `start` (with no path arguments) would use."""
    start = start.resolve()
    first_pyproject: Path | None = None
    for folder in (start, *start.parents):
        for name in CONFIG_NAMES:
            path = folder / name
            if not path.is_file():
                continue
            if name == "pyproject.toml" and first_pyproject is None:
                first_pyproject = path
            values = read(path)
            if values is not None:
                return IniFile(folder, path, values)
    # No configuration anywhere: pytest's rootdir is the first folder up with a setup.py, else a pyproject.toml
    # without pytest's table, else the folder itself.
    for folder in (start, *start.parents):
        if (folder / "setup.py").is_file():
            return IniFile(folder)
    if first_pyproject is not None:
        return IniFile(first_pyproject.parent, first_pyproject)
    return IniFile(start)


def read(path: Path) -> dict[str, Any] | None:
    """pytest's values in the file at `path`, or None when it holds none that pytest would read."""
    if path.suffix == ".toml":
        return _read_toml(path)
    try:
        config = iniconfig.IniConfig(str(path))
    except iniconfig.ParseError as exc:
        raise ConfigError(f"{path} cannot be read: {exc}; fix the file (pytest would refuse it too)") from None
    section = "tool:pytest" if path.suffix == ".cfg" else "pytest"
    if section in config:
        return dict(config[section].items())
    # A pytest.ini is pytest's configuration even when empty.
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if path.name in ("pytest.toml", ".pytest.toml"):
        return dict(data.get("pytest") or {})
    table = data.get("tool", {}).get("pytest", {})
    native = {key: value for key, value in table.items() if key != "ini_options"} if _PYTEST_9 else {}
    if native:
        return native
    ini_options = table.get("ini_options")
    if ini_options is None:
        return None
    # pytest's ini mode: lists stay lists, every other value becomes its text.
    return {key: value if isinstance(value, list) else str(value) for key, value in ini_options.items()}
