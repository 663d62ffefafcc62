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
import sys
from pathlib import Path

from .build import platforms
from .cli import clean, doctor, serve
from .cli import event as event_cli
from .container import emulator as rie
from .container import emulator_wheel as rie_wheel
from .errors import LambdaContainerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_container")
    commands = parser.add_subparsers(dest="command", required=True)
    rie_cmd = commands.add_parser("rie", help="print the path of aws-lambda-rie, provisioning it if needed")
    rie_cmd.add_argument("--arch", choices=platforms.RIE_ARCHES, default=platforms.RIE_ARCHES[0])
    rie_cmd.add_argument(
        "--from-wheel",
        metavar="WHEEL",
        help="install it from an aws-sam-cli wheel downloaded beforehand (a .whl file, or a folder holding one)",
    )
    doctor_cmd = commands.add_parser(
        "doctor",
        help="check the engine, the emulator and the project",
        description="Check what a run of the plugin needs, one line each; exit 1 when something would block it.",
    )
    doctor.add_arguments(doctor_cmd)
    event_cmd = commands.add_parser(
        "event",
        help="print the event of an HTTP request, e.g. `event GET /test1 | curl -d @- URL`",
        description="Print the complete event the plugin sends for an HTTP request, as one line of JSON.",
    )
    event_cli.add_arguments(event_cmd)
    serve_cmd = commands.add_parser(
        "serve",
        help="serve the function over HTTP on 127.0.0.1, as API Gateway would (curl, a browser, the url target)",
        description="Build and start the container, serve it over HTTP until Ctrl-C, then remove the container.",
    )
    serve.add_arguments(serve_cmd)
    clean_cmd = commands.add_parser(
        "clean",
        help="remove reused (--lambda-reuse) and kept (--lambda-keep) containers",
        description="Remove the containers the plugin left running on purpose: reused and kept ones.",
    )
    clean.add_arguments(clean_cmd)
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return doctor.run(args)
        if args.command == "event":
            return event_cli.run(args)
        if args.command == "serve":
            return serve.run(args)
        if args.command == "clean":
            return clean.run(args)
        return _rie(args)
    except ValueError as exc:
        {"doctor": doctor_cmd, "event": event_cmd, "serve": serve_cmd}.get(args.command, rie_cmd).error(str(exc))
    except LambdaContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _rie(args: argparse.Namespace) -> int:
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.from_wheel is None:
        path = rie.locate(args.arch, log=log)
    else:
        path = rie.provision(args.arch, wheel=_wheel(args.from_wheel, args.arch), log=log)
    print(path)
    return 0


def _wheel(given: str, arch: str) -> Path:
    """The wheel `given` names: a file, a folder holding one, or a pattern the shell left unexpanded."""
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
