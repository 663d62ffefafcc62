"""The stand-in images' pure parts (scripts/standins.py runs them): the rebuild decision, the recipe's hash, the base
image's rootfs rewritten. No engine."""

from __future__ import annotations

import fnmatch
import tarfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_lambda_container.build.image import content_tag

#: The label a stand-in carries: the hash of its recipe. An image under the tag without it is a real one.
STANDIN_LABEL = "org.pytest-lambda-container.stand-in"
#: Added to the rootfs: python and pip where the official image has them.
BASE_LINKS = {
    "usr/local/bin/python": "/usr/bin/python3",
    "usr/local/bin/python3": "/usr/bin/python3",
    "usr/local/bin/pip": "/usr/bin/pip3",
    "usr/local/bin/pip3": "/usr/bin/pip3",
}
#: Left out of the rootfs: Debian's PEP 668 marker (the official image's pip installs system-wide as root)
#: and, as in the slim image, package lists and downloaded packages.
BASE_DROP = ("usr/lib/python3*/EXTERNALLY-MANAGED", "var/lib/apt/lists/*", "var/cache/apt/archives/*.deb")


@dataclass(frozen=True)
class Plan:
    build: bool
    reason: str


def plan(ref: str, labels: Mapping[str, str] | None, want: str, rebuild: bool) -> Plan:
    """Whether to (re)build the stand-in `ref` whose recipe hashes to `want`, given the labels of the image
    under that tag now (None: there is none). A real image (no stand-in label) is never replaced."""
    if labels is None:
        return Plan(True, f"{ref} is missing: building a stand-in")
    have = labels.get(STANDIN_LABEL)
    if not have:
        return Plan(False, f"{ref} exists and is not a stand-in: using it as it is")
    if have != want:
        return Plan(True, f"{ref} stand-in is out of date: rebuilding it")
    if rebuild:
        return Plan(True, f"{ref} stand-in is up to date: rebuilding it anyway (BOOTSTRAP_REBUILD=1)")
    return Plan(False, f"{ref} stand-in is up to date")


def recipe_hash(
    dockerfile: Path, context: Path, build_args: Mapping[str, str], platform: str, bases: Sequence[str]
) -> str:
    """The stand-in label for a recipe: the hash part of the plugin's content tag of it."""
    return content_tag(dockerfile, context, build_args, platform, tuple(bases)).rpartition(":")[2]


def _name(member: str) -> str:
    return member.lstrip("/").removeprefix("./").rstrip("/")


def rewrite_rootfs(
    source: Path, target: Path, overlay: Path, links: Mapping[str, str], drop: Iterable[str]
) -> tuple[int, int]:
    """Copy the tarball `source` to `target`, leaving out the members matching the `drop` patterns and those
    replaced, then add the files under `overlay` (at the same paths) and the symlinks `links`, all root's.
    Returns (members copied, members added)."""
    files = {p.relative_to(overlay).as_posix(): p for p in sorted(overlay.rglob("*")) if p.is_file()}
    replaced = set(files) | set(links)
    patterns = tuple(drop)
    copied = 0
    with tarfile.open(source, "r|") as src, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as out:
        for member in src:
            name = _name(member.name)
            if name in replaced or any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
            copied += 1
        now = int(time.time())
        for name, path in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, now
            with path.open("rb") as f:
                out.addfile(info, f)
        for name, dest in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, dest, 0o777, now
            out.addfile(info)
    return copied, len(files) + len(links)
