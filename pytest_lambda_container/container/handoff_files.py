"""The xdist handoff's files that outlive a run (`container.handoff`), kept from piling up.

- The memory of each project's last xdist run (one small file per project in the plugin's cache): pruned, when one is
  written, of those not written for `MEMORY_DAYS` (a project gone, moved, or no longer run under xdist).
- A controller's run folder in the temporary directory, named by its pid: a controller killed (SIGKILL) before its end
  leaves it behind, and the next run's controller removes it once that pid is gone. Its containers carry the dead
  controller's labels (engine/hygiene.py), so the orphan sweep removes them, as any killed run's.

Each is one listing of one directory, done where a run writes there anyway. And what the memory says to start ahead:
the functions it names, as the settings resolve them now.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.defaults import prune_cache
from ..config.function import FunctionSpec, ResolvedFunction
from ..engine.liveness import pid_alive
from .emulator import cache_dir

if TYPE_CHECKING:
    from ..config.settings import Settings

#: A run folder's name: this prefix, the controller's pid, a dash, mkdtemp's random part.
FOLDER_PREFIX = "pytest-lambda-container-handoff-"
#: At most this many containers started ahead: a run that needs more starts the rest itself.
MOST = 8
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
    return prune_cache(folder, MEMORY_DAYS, now=now)


def to_json(fn: ResolvedFunction) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(fn).items()}


def from_json(data: dict[str, Any], settings: Settings) -> ResolvedFunction | None:
    """The function `data` names as these settings resolve it now; None if they resolve it otherwise (the settings
    changed since it was remembered: a container of it would serve no test) or `data` is not one."""
    try:
        pairs = {name: tuple(tuple(pair) for pair in data[name]) for name in ("env", "build_args")}
        spec = FunctionSpec(
            image=data["image"],
            dockerfile=Path(data["dockerfile"]),
            context=Path(data["context"]),
            handler=data["handler"],
            timeout=data["timeout"],
            **pairs,
        )
        fn = spec.resolve(settings)
    except (KeyError, TypeError, ValueError):
        return None
    return fn if json.loads(json.dumps(to_json(fn))) == data else None


def remembered(settings: Settings) -> list[ResolvedFunction] | None:
    """The functions the last run's workers used, a container each per worker that used it; None if unknown."""
    try:
        data = json.loads(memory_file(settings).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, list):
        return None
    return [fn for fn in (from_json(item, settings) for item in data if isinstance(item, dict)) if fn is not None]


def functions_ahead(settings: Settings, *, workers: int) -> list[ResolvedFunction]:
    """What the controller starts ahead: the functions the last run's workers used (each at most once per worker),
    or, the first time, the configured function if there is one."""
    known = remembered(settings)
    if known is None:
        configured = settings.image or settings.dockerfile_path.is_file()
        return [FunctionSpec().resolve(settings)] if configured else []
    counted: collections.Counter[ResolvedFunction] = collections.Counter(known)
    return [fn for fn, count in counted.items() for _ in range(min(count, workers))][:MOST]
