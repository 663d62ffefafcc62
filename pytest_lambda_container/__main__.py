"""Command line: `python -m pytest_lambda_container rie [--arch ARCH]` prints the path of a verified
aws-lambda-rie, provisioning it into the cache first if needed (setup scripts use it to make base images);
`python -m pytest_lambda_container doctor` says whether this machine can run the plugin's tests, and why not."""

from __future__ import annotations

import argparse
import sys

from . import platforms, rie
from .errors import LambdaContainerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_container")
    commands = parser.add_subparsers(dest="command", required=True)
    rie_cmd = commands.add_parser("rie", help="print the path of aws-lambda-rie, provisioning it if needed")
    rie_cmd.add_argument("--arch", choices=platforms.RIE_ARCHES, default=platforms.RIE_ARCHES[0])
    commands.add_parser("doctor", help="check the Docker engine and the emulator")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor()
    try:
        path = rie.locate(args.arch, log=lambda line: print(line, file=sys.stderr))
    except LambdaContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def doctor() -> int:
    """Check what the plugin needs, one line each; exit 1 if anything is missing."""
    from .engine import connect

    ok = True
    try:
        engine = connect()
        version = engine.client.version()
        kind = "Podman" if engine.is_podman else "Docker"
        print(f"engine: ok, {kind} {version.get('Version', '?')} at {engine.address} (linux/{engine.arch})")
        arch = platforms.rie_arch(engine.arch)
        engine.close()
    except LambdaContainerError as exc:
        print(f"engine: MISSING: {exc}")
        ok, arch = False, platforms.RIE_ARCHES[0]
    cached = [
        p for p in (rie.USER_BINARY.expanduser(), rie.cache_dir() / f"aws-lambda-rie-{arch}") if rie.is_rie_for(p, arch)
    ]
    if cached:
        print(f"emulator: ok, aws-lambda-rie for {arch} at {cached[0]}")
    else:
        print(
            f"emulator: not cached yet; the first session fetches it "
            f"(or now: python -m pytest_lambda_container rie --arch {arch})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
