"""One option of the table: what it is called on the command line and in ini files, how it is given, and where a
raw value came from (the table itself is options.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

#: How an option is given: one value, repeated `K=V` values or repeated values (ini: one per line), or a bare flag.
Shape = Literal["value", "pairs", "list", "flag"]


@dataclass(frozen=True)
class Origin:
    """Where a raw value came from: for error messages, and the folder its relative paths start from."""

    name: str
    base: Path


@dataclass(frozen=True)
class Option:
    """One setting: a `--lambda-NAME` flag and the `lambda_NAME` ini key, parsed by its own function."""

    name: str
    parse: Callable[[Any, Origin, Option], Any]
    help: str
    metavar: str = ""
    shape: Shape = "value"
    choices: tuple[str, ...] = ()
    #: An environment variable read when neither the command line nor the ini file gives a value.
    env_var: str | None = None

    @property
    def flag(self) -> str:
        return "--lambda-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The documented ini key."""
        return INI_NAMES.get(self.name, "lambda_" + self.name)

    @property
    def ini_keys(self) -> tuple[str, ...]:
        """Every ini key of the option, the documented one first: the flag's own spelling works in ini files too."""
        return tuple(dict.fromkeys((self.ini, "lambda_" + self.name)))

    def ini_value(self, read: Callable[[str], Any]) -> Any:
        """The option's ini value, `read(key)` of the first key that has one (else what the last key read gave)."""
        value = None
        for key in self.ini_keys:
            value = read(key)
            if value:
                break
        return value

    def add_to(self, add: Callable[..., Any]) -> None:
        """Declare the flag with `add`: pytest's `addoption` or argparse's `add_argument` (one signature)."""
        dest = "lambda_" + self.name
        if self.shape in ("pairs", "list"):
            add(self.flag, dest=dest, action="append", default=None, metavar=self.metavar, help=self.help)
        elif self.shape == "flag":
            add(self.flag, dest=dest, action="store_true", default=None, help=self.help)
        else:
            add(self.flag, dest=dest, default=None, metavar=self.metavar, help=self.help)


# `lambda_build_args` reads better in an ini file than `lambda_build_arg` (which is read too: `Option.ini_keys`).
INI_NAMES = {"build_arg": "lambda_build_args"}
