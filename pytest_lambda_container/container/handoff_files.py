"""The xdist handoff's files that outlive a run (`container.handoff`), kept from piling up.

- The memory of each project's last xdist run (one small file per project in the plugin's cache): pruned, when one is
  written, of those not written for `MEMORY_DAYS` (a project gone, moved, or no longer run under xdist).
- A controller's run folder in the temporary directory, named by its pid: a controller killed (SIGKILL) before its end
  leaves it behind, and the next run's controller removes it once that pid is gone. Its containers carry the dead
  controller's labels (engine/hygiene.py), so the orphan sweep removes them, as any killed run's.

Each is one listing of one directory, done where a run writes there anyway.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.hygiene import pid_alive
from .emulator import cache_dir

if TYPE_CHECKING:
    from ..config.settings import Settings

#: A run folder's name: this prefix, the controller's pid, a dash, mkdtemp's random part.
FOLDER_PREFIX = "pytest-lambda-container-handoff-"
#: A project's memory not written for this long is removed (its next xdist run starts the configured function ahead).
MEMORY_DAYS = 30


def new_folder() -> Path:
    """A private run folder for this process, its pid in its name (`owner_of`)."""
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))


def owner_of(name: str) -> int | None:
    """The pid of the controller whose run folder is named `name`; None if it is no run folder of a known owner."""
    if not name.startswith(FOLDER_PREFIX):
        return None
    pid, dash, _ = name[len(FOLDER_PREFIX) :].partition("-")
    return int(pid) if dash and pid.isdigit() else None


def sweep_folders(root: Path | None = None, *, alive: Callable[[int], bool] = pid_alive) -> list[Path]:
    """Remove the run folders in `root` (the temporary directory) whose controller is gone; those removed."""
    root = Path(tempfile.gettempdir()) if root is None else root
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        pid = owner_of(entry.name)
        if pid is None or pid == os.getpid() or alive(pid) or not entry.is_dir(follow_symlinks=False):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)  # another run's sweep may be removing it too
        removed.append(Path(entry.path))
    return removed


def memory_file(settings: Settings) -> Path:
    """Where the functions of this project's last xdist run are remembered."""
    project = hashlib.sha256(str(settings.rootdir.resolve()).encode()).hexdigest()[:20]
    return cache_dir() / "handoff" / f"{project}.json"


def prune_memories(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove the projects' memories in `folder` not written for `MEMORY_DAYS`; those removed."""
    oldest = (time.time() if now is None else now) - MEMORY_DAYS * 86400
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < oldest:  # a memory, or the part-written one of a kill
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # removed meanwhile by another run's pruning
    return removed
