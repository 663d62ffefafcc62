"""The content tag: a hash of what a build uses, so an unchanged function is never rebuilt.

What counts is what the build can see and reach: context files that `.dockerignore` leaves in *and* that a
COPY/ADD source of the Dockerfile names (`dockerfile.read`); the whole context (as `.dockerignore` leaves it)
where the Dockerfile's reading cannot tell. Folders no source reaches are never listed, so a `.venv` the build
does not copy costs nothing. pytest's and Python's own churn (`.pytest_cache`, `__pycache__`, `*.pyc`) never
counts, even under `COPY . .`: it changes on every run and no function depends on it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from docker.utils.build import PatternMatcher

from ..errors import ConfigError
from . import dockerfile as dockerfiles
from .context_paths import go_match, is_pattern

#: Repository our built images are tagged into: `docker images 'pytest-lambda-container/*'` lists them.
REPOSITORY = "pytest-lambda-container"
CHURN_DIRS = frozenset({".pytest_cache", "__pycache__"})
CHURN_SUFFIXES = (".pyc",)
#: A context over this size, without a .dockerignore, gets a warning: the legacy builder sends all of it.
LARGE_CONTEXT = 50_000_000
#: Folders that are never a function's code: suggested for .dockerignore when a context is large.
JUNK = frozenset({".venv", "venv", ".git", "node_modules", ".tox", ".nox", ".mypy_cache", ".ruff_cache", "htmlcov"})


def ignore_file(dockerfile: Path, context: Path) -> Path | None:
    """The ignore file the build honours: `<Dockerfile>.dockerignore` next to it (BuildKit's), else the
    context's `.dockerignore`; None when there is neither."""
    for path in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
        if path.is_file():
            return path
    return None


def ignore_patterns(dockerfile: Path, context: Path) -> list[str]:
    """The ignore file's patterns, read the way the docker SDK's own build() reads them."""
    path = ignore_file(dockerfile, context)
    if path is None:
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


class Reach:
    """Which context paths the COPY/ADD sources reach (a source naming a folder reaches all of it)."""

    def __init__(self, sources: Sequence[str] | None) -> None:
        self.everything = sources is None
        self._sources: list[list[re.Pattern[str] | str]] = []
        for source in sources or ():
            parts: list[re.Pattern[str] | str] = []
            for part in source.split("/"):
                pattern = go_match(part) if is_pattern(part) else part
                if pattern is None:  # malformed: Docker refuses the build, and says why
                    self.everything = True
                parts.append(pattern or part)
            self._sources.append(parts)

    def covers(self, rel: str) -> bool:
        """True when `rel` (a file or folder, relative to the context) is inside some source."""
        if self.everything:
            return True
        names = rel.split("/")
        return any(len(names) >= len(parts) and _prefix_matches(parts, names) for parts in self._sources)

    def leads_to(self, rel: str) -> bool:
        """True when the folder `rel` holds a path some source names."""
        names = rel.split("/")
        return self.everything or any(
            len(names) < len(parts) and _prefix_matches(parts, names) for parts in self._sources
        )


def _prefix_matches(parts: Sequence[re.Pattern[str] | str], names: Sequence[str]) -> bool:
    return all(p == n if isinstance(p, str) else p.match(n) for p, n in zip(parts, names))


def is_churn(name: str, is_dir: bool) -> bool:
    """pytest's and Python's caches, which never count."""
    return name in CHURN_DIRS if is_dir else name.endswith(CHURN_SUFFIXES)


def used_paths(context: Path, patterns: list[str], reach: Reach) -> list[tuple[str, os.DirEntry[str]]]:
    """The context entries the build uses, by relative path, sorted: left in by `patterns` (.dockerignore
    syntax, matched by the docker SDK), reached by a source, and not churn."""
    matcher = PatternMatcher(patterns)
    negations = [p.cleaned_pattern for p in matcher.patterns if p.exclusion]
    found: list[tuple[str, os.DirEntry[str]]] = []
    pending = [""]
    while pending:
        folder = pending.pop()
        with os.scandir(context / folder) as entries:
            for entry in entries:
                rel = f"{folder}/{entry.name}" if folder else entry.name
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_churn(entry.name, is_dir):
                    continue
                covered = reach.covers(rel)
                ignored = matcher.matches(rel)  # type: ignore[arg-type]  # the stubs say PathLike; it takes str
                if not ignored and covered:
                    found.append((rel, entry))
                # Into an ignored folder only when a `!pattern` may take something in it back, as the SDK does.
                if is_dir and (covered or reach.leads_to(rel)):
                    if not ignored or any(n.startswith(rel) for n in negations):
                        pending.append(rel)
    return sorted(found, key=lambda item: item[0])


def _chunks(path: Path, context: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            # In chunks: a context may hold files larger than memory.
            yield from iter(lambda: f.read(1 << 20), b"")
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path} in the build context {context}: {exc.strerror}; make it readable, or "
            "leave it out of the build with a line in .dockerignore"
        ) from None


def content_tag(
    dockerfile: Path,
    context: Path,
    build_args: Mapping[str, str],
    platform: str | None,
    base_ids: tuple[str, ...] = (),
    *,
    onbuild: bool = False,
) -> str:
    """A tag naming exactly this build's inputs: the context files the build uses, the Dockerfile, the build
    args, the platform, and the base images' ids (a rebuilt base means a rebuild). `onbuild`: a base image has
    ONBUILD triggers, which may copy anything, so the whole context counts."""
    digest = hashlib.sha256()
    digest.update(repr(base_ids).encode())
    digest.update(dockerfile.read_bytes())
    digest.update(repr(sorted(build_args.items())).encode())
    digest.update(repr(platform).encode())
    reading = dockerfiles.read(dockerfile.read_text(errors="replace"), build_args)
    reach = Reach(None if onbuild else reading.sources)
    patterns = ignore_patterns(dockerfile, context)
    if dockerfile.resolve().is_relative_to(context.resolve()):
        patterns.append("!" + os.path.relpath(dockerfile, context))  # the docker SDK always sends the Dockerfile
    for rel, entry in used_paths(context, patterns, reach):
        digest.update(rel.encode() + b"\0")
        if entry.is_symlink():
            digest.update(b"-> " + os.readlink(entry.path).encode() + b"\0")
        elif entry.is_file():
            digest.update(oct(entry.stat().st_mode & 0o777).encode() + b"\0")
            for chunk in _chunks(Path(entry.path), context):
                digest.update(chunk)
    slug = re.sub(r"[^a-z0-9._-]+", "-", context.resolve().name.lower()).strip("-.") or "function"
    return f"{REPOSITORY}/{slug}:{digest.hexdigest()[:16]}"


def _tree_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue  # unreadable: the build says so, clearly, if it needs it
    return total


def _sizes(context: Path) -> Iterator[tuple[str, bool, int]]:
    with os.scandir(context) as entries:
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            yield entry.name, is_dir, _tree_size(entry.path) if is_dir else entry.stat(follow_symlinks=False).st_size


def large_context_warning(
    dockerfile: Path, context: Path, sources: Sequence[str] | None, threshold: int = LARGE_CONTEXT
) -> str | None:
    """One line when the context is over `threshold` bytes and has no .dockerignore: its biggest folders and
    a .dockerignore that leaves out those the build does not copy. None otherwise."""
    if ignore_file(dockerfile, context) is not None:
        return None
    sizes = list(_sizes(context))
    total = sum(size for _, _, size in sizes)
    if total <= threshold:
        return None
    folders = sorted(((size, name) for name, is_dir, size in sizes if is_dir), reverse=True)
    reach = Reach(sources)
    unused = [
        name
        for size, name in folders
        if size >= 1_000_000
        and (name in JUNK if reach.everything else not (reach.covers(name) or reach.leads_to(name)))
    ][:5]
    biggest = ", ".join(f"{name} {_mb(size)}" for size, name in folders[:3]) or "none: it is files"
    suggested = " ".join([*unused, *sorted(CHURN_DIRS), "'*.pyc'"])
    return (
        f"the build context {context} is {_mb(total)} and has no .dockerignore, so every build sends all of it "
        f"to the engine (biggest folders: {biggest}); leave out what the build does not use, e.g. "
        f"`printf '%s\\n' {suggested} > {context / '.dockerignore'}`"
    )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} kB"
