"""`python -m pytest_lambda_container rie [--arch ARCH]`: print the path of a verified aws-lambda-rie,
provisioning it into the cache first if needed (CI and setup scripts use it to make base images)."""

from __future__ import annotations

import argparse
import sys

from . import rie
from .errors import LambdaContainerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_container")
    commands = parser.add_subparsers(dest="command", required=True)
    rie_cmd = commands.add_parser("rie", help="print the path of aws-lambda-rie, provisioning it if needed")
    rie_cmd.add_argument("--arch", choices=rie.ARCHES, default="x86_64")
    args = parser.parse_args(argv)
    try:
        path = rie.locate(args.arch, log=lambda line: print(line, file=sys.stderr))
    except LambdaContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
