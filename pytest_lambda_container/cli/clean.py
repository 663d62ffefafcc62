"""`python -m pytest_lambda_container clean`: remove the containers the plugin left running on purpose — reused ones
(`--lambda-reuse`) and kept ones (`--lambda-keep`) — which no session removes by itself, and the volumes that deliver
the emulator (and other files) into containers, which every session shares (container/delivery.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..container import delivery
from ..engine.client import connect
from ..engine.hygiene import LABEL, LABEL_KEEP, LABEL_REUSE, LABEL_REUSE_PROJECT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `clean` command's arguments."""
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="only the reused containers of the project in DIR (its rootdir); default: every reused and kept one, "
        "and the volumes that deliver the emulator",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")


def run(args: argparse.Namespace) -> int:
    engine = connect()
    try:
        if args.project is not None:
            wanted = [f"{LABEL_REUSE_PROJECT}={args.project.resolve()}"]
            found = engine.client.containers.list(all=True, ignore_removed=True, filters={"label": [LABEL, *wanted]})
        else:
            found = [
                c
                for c in engine.client.containers.list(all=True, ignore_removed=True, filters={"label": LABEL})
                if (c.labels or {}).get(LABEL_REUSE) or (c.labels or {}).get(LABEL_KEEP)
            ]
        for container in found:
            kind = "reused" if (container.labels or {}).get(LABEL_REUSE) else "kept"
            if args.dry_run:
                print(f"would remove {kind} container {container.name}")
                continue
            with engine.errors(f"the removal of container {container.name}"):
                container.remove(force=True)
            print(f"removed {kind} container {container.name}")
        if not found:
            print("no reused or kept containers")
        if args.project is None:  # volumes are shared by every project: only a clean of everything takes them
            removed, busy = delivery.remove_volumes(engine, dry_run=args.dry_run)
            for name in removed:
                print(f"{'would remove' if args.dry_run else 'removed'} volume {name}")
            for name in busy:
                print(f"kept volume {name}: a container still uses it")
    finally:
        engine.close()
    return 0
