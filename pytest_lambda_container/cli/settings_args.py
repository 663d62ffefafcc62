"""The plugin's options for the commands that run outside pytest (`serve`, `doctor`, `event`): the same `--lambda-*`
flags, and the same keys of the ini file pytest would read in the current folder, resolved as pytest resolves them.

Each command takes the options that mean something to it; the others are neither flags nor read from the ini file,
so an ini file written for another target (`lambda_target = url`) does not change what the command does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from ..config import inifile
from ..config.options import OPTIONS, Option
from ..config.settings import Settings, resolve

#: Options about other targets, or about pytest runs: commands that run the container take all the others.
NOT_FOR_THE_CONTAINER = frozenset({"target", "source", "url", "url_auth", "function", "endpoint_url", "skip_no_docker"})


def container_options() -> tuple[Option, ...]:
    """The options of a command that builds and runs the container, as a test session does."""
    return tuple(opt for opt in OPTIONS if opt.name not in NOT_FOR_THE_CONTAINER)


def add_options(
    parser: argparse.ArgumentParser,
    options: Collection[Option],
    description: str,
    *,
    title: str = "the function",
    aliases: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Declare `options` as pytest spells them, in a group of their own; `aliases` are other flags of an option
    (by its name) that a command had before."""
    group = parser.add_argument_group(title, description)
    for opt in options:
        extra = (aliases or {}).get(opt.name, ())
        opt.add_to(lambda flag, *, _extra=extra, **kwargs: group.add_argument(flag, *_extra, **kwargs))


def settings_of(
    args: argparse.Namespace,
    cwd: Path,
    options: Collection[Option],
    defaults: Mapping[str, str] | None = None,
) -> Settings:
    """The settings pytest would resolve in `cwd` for `options` from these flags and the ini file there; every other
    option keeps its default. `defaults` are ini-level values (by option name) used when neither gives one."""
    ini = inifile.find(cwd)
    taken = {opt.name for opt in options}

    def cli(opt: Option) -> Any:
        return getattr(args, "lambda_" + opt.name, None) if opt.name in taken else None

    def ini_value(opt: Option) -> Any:
        if opt.name not in taken:
            return None
        read: Callable[[str], Any] = ini.linelist if opt.shape in ("pairs", "list") else ini.string
        value = opt.ini_value(read)
        return value or (defaults or {}).get(opt.name, value)

    return resolve(ini.rootdir, cli=cli, ini=ini_value, invocation_dir=cwd)
