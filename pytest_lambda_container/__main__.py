"""Command line.

- `python -m pytest_lambda_container rie [--arch ARCH] [--from-wheel WHEEL]` prints the path of a verified
  aws-lambda-rie, provisioning it into the cache first if needed (setup scripts use it to make base images);
- `python -m pytest_lambda_container doctor [--dockerfile PATH]` says whether this machine can run the plugin's
  tests of this project, and why not;
- `python -m pytest_lambda_container event METHOD PATH [...]` prints the event the plugin would send for that
  request, for `curl -d @-` to a running container;
- `python -m pytest_lambda_container clean [--project DIR] [--dry-run]` removes the containers left running on purpose
  (`--lambda-reuse`, `--lambda-keep`);
- `python -m pytest_lambda_container serve [--port 3000]` builds and starts the container and serves it over HTTP on
  127.0.0.1, as API Gateway would, until Ctrl-C (the `serve` extra: uvicorn).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import sys
from pathlib import Path
from types import ModuleType

from .build import platforms
from .errors import LambdaContainerError

#: Each command's module in `cli` (None: `rie`, here), its one-line help and its description. A command's module is
#: imported only when it runs: `event` needs neither the engine nor the docker SDK, and the others' imports (the SDK,
#: with paramiko where installed) were ~0.4 s of each `event` (issue 17).
COMMANDS: dict[str, tuple[str | None, str, str | None]] = {
    "rie": (None, "print the path of aws-lambda-rie, provisioning it if needed", None),
    "doctor": (
        "doctor",
        "check the engine, the emulator and the project",
        "Check what a run of the plugin needs, one line each; exit 1 when something would block it.",
    ),
    "event": (
        "event",
        "print the event of an HTTP request, e.g. `event GET /test1 | curl -d @- URL`",
        "Print the complete event the plugin sends for an HTTP request, as one line of JSON.",
    ),
    "serve": (
        "serve",
        "serve the function over HTTP on 127.0.0.1, as API Gateway would (curl, a browser, the url target)",
        "Build and start the container, serve it over HTTP until Ctrl-C, then remove the container.",
    ),
    "clean": (
        "clean",
        "remove reused (--lambda-reuse) and kept (--lambda-keep) containers",
        "Remove the containers the plugin left running on purpose: reused and kept ones.",
    ),
}
#: The commands that need no engine: the docker SDK is not loaded for them.
WITHOUT_ENGINE = frozenset({"event"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((word for word in argv if not word.startswith("-")), None)  # the command: the first word
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_container")
    commands = parser.add_subparsers(dest="command", required=True)
    parsers: dict[str, argparse.ArgumentParser] = {}
    module: ModuleType | None = None
    for name, (module_name, help_line, description) in COMMANDS.items():
        parsers[name] = commands.add_parser(name, help=help_line, description=description)
        if name != chosen:
            continue  # its arguments only matter to a run of it (the list of commands shows the help lines)
        if name not in WITHOUT_ENGINE:
            from .engine import sdk

            sdk.load()  # as a session loads it: without the SDK's SSH transport where no ssh:// engine can be meant
        if module_name is None:
            _rie_arguments(parsers[name])
        else:
            module = importlib.import_module(f".cli.{module_name}", __package__)
            module.add_arguments(parsers[name])
    args = parser.parse_args(argv)
    try:
        return int(module.run(args)) if module is not None else _rie(args)
    except ValueError as exc:
        parsers[args.command].error(str(exc))  # a usage error, under the command's own usage line
    except LambdaContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _rie_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", choices=platforms.RIE_ARCHES, default=platforms.RIE_ARCHES[0])
    parser.add_argument(
        "--from-wheel",
        metavar="WHEEL",
        help="install it from an aws-sam-cli wheel downloaded beforehand (a .whl file, or a folder holding one)",
    )


def _rie(args: argparse.Namespace) -> int:
    from .container import emulator as rie

    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.from_wheel is None:
        path = rie.locate(args.arch, log=log)
    else:
        path = rie.provision(args.arch, wheel=_wheel(args.from_wheel, args.arch), log=log)
    print(path)
    return 0


def _wheel(given: str, arch: str) -> Path:
    """The wheel `given` names: a file, a folder holding one, or a pattern the shell left unexpanded."""
    from .container import emulator_wheel as rie_wheel

    path = Path(given).expanduser()
    matches = sorted(path.glob(rie_wheel.WHEEL_GLOB)) if path.is_dir() else sorted(map(Path, glob.glob(given)))
    if path.is_file():
        return path
    if not matches:
        raise ValueError(
            f"--from-wheel {given}: no aws-sam-cli wheel there; download it first, then install from it:\n"
            + rie_wheel.manual_commands(arch)
        )
    return matches[-1]


if __name__ == "__main__":
    sys.exit(main())
