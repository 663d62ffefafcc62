"""One build per content tag, across xdist workers and concurrent pytest processes: a file lock keyed by the tag.

Without it, `pytest -n 2` after a change builds the same image twice at once, and the loser's image is left
behind untagged. The one who waits says so, then finds the image built.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator

from filelock import FileLock, Timeout

from ..container import emulator as rie
from .progress import BuildProgress, ProgressCallback

#: How often a waiting process says it still waits.
WAIT_REPORT = 60.0


def lock_path(tag: str) -> str:
    """The lock file of one content tag, in the plugin's cache (shared by every pytest process of this user)."""
    folder = rie.cache_dir() / "builds"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / (hashlib.sha256(tag.encode()).hexdigest()[:32] + ".lock"))


@contextlib.contextmanager
def held(tag: str, report: ProgressCallback) -> Iterator[None]:
    """Hold the build lock of `tag`; when another process holds it, say so, and wait for as long as it builds
    (a process that dies releases it: the lock is the kernel's)."""
    lock = FileLock(lock_path(tag))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        report(BuildProgress(None, None, f"waiting for another worker's build of {tag}"))
        started = time.monotonic()
        while True:
            try:
                lock.acquire(timeout=WAIT_REPORT)
                break
            except Timeout:
                waited = time.monotonic() - started
                report(BuildProgress(None, None, f"still waiting for another worker's build of {tag} ({waited:.0f} s)"))
    try:
        yield
    finally:
        lock.release()
