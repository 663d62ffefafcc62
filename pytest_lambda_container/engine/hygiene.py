"""What keeps the engine clean: our labels, the containers this process has live, and the sweep of orphans."""

from __future__ import annotations

import atexit
import os
import re
import socket
import sys
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Protocol

from docker import errors as docker_errors

from ..errors import LambdaContainerError
from .client import Engine

#: Every container and image the plugin makes carries this label.
LABEL = "pytest-lambda-container"
LABEL_SESSION = f"{LABEL}.session"
LABEL_PID = f"{LABEL}.pid"
LABEL_HOST = f"{LABEL}.host"
#: Set on containers kept for debugging (--lambda-keep): the orphan sweep leaves them alone.
LABEL_KEEP = f"{LABEL}.keep"
#: On containers that outlive the run for the next one (--lambda-reuse): which slot, what config, which image name.
LABEL_REUSE = f"{LABEL}.reuse"
LABEL_REUSE_CONFIG = f"{LABEL}.reuse-config"
LABEL_REUSE_IMAGE = f"{LABEL}.reuse-image"
LABEL_REUSE_PROJECT = f"{LABEL}.reuse-project"
#: On the volumes that deliver files into containers (container/delivery.py), and their fill helpers: which kind.
LABEL_DELIVERY = f"{LABEL}.delivery"


class Removable(Protocol):
    """Anything that can remove its container."""

    def remove(self) -> None: ...


_LIVE: dict[int, Removable] = {}
_LIVE_LOCK = threading.Lock()
_AT_EXIT = False


def warn(line: str) -> None:
    """Say something on stderr (where no pytest terminal is at hand: at interpreter exit, from plain Python)."""
    print(f"pytest-lambda-container: {line}", file=sys.stderr)


def new_session_id() -> str:
    """An id for one test session, stored in its containers' labels."""
    return uuid.uuid4().hex[:12]


def labels(session_id: str, *, keep: bool = False) -> dict[str, str]:
    """Labels that mark a container as ours, and whose (this session, this process, this host)."""
    out = {LABEL: "1", LABEL_SESSION: session_id, LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname()}
    if keep:
        out[LABEL_KEEP] = "1"
    return out


def register(container: Removable) -> None:
    """Remember `container` until `unregister`: whatever way this process exits, it is removed."""
    global _AT_EXIT
    with _LIVE_LOCK:
        _LIVE[id(container)] = container
        if not _AT_EXIT:  # at the first container, not at import: importing the package changes nothing
            atexit.register(remove_all)
            _AT_EXIT = True


def unregister(container: Removable) -> None:
    """Forget `container` (it was removed, or is kept on purpose)."""
    with _LIVE_LOCK:
        _LIVE.pop(id(container), None)


def live() -> list[Removable]:
    """Containers this process started and has not removed."""
    with _LIVE_LOCK:
        return list(_LIVE.values())


def remove_all() -> None:
    """Remove every container this process started (at session end, on Ctrl-C, at interpreter exit)."""
    for container in live():
        container.remove()


def reap_orphans(engine: Engine) -> list[str]:
    """Remove our containers whose pytest process on this host is gone (a SIGKILLed run); names removed.

    Best effort: an engine that fails here fails again, clearly, at the call that needs it.
    """
    host = socket.gethostname()
    removed = []
    try:
        with engine.errors("the listing of our containers"):
            candidates = engine.client.containers.list(all=True, filters={"label": LABEL})
    except LambdaContainerError:
        return []
    for container in candidates:
        found = container.labels or {}
        if found.get(LABEL_REUSE) and _outdated(engine, container):
            pass  # a reused container of an image since rebuilt: no run will take it again
        elif found.get(LABEL_HOST) != host or found.get(LABEL_KEEP) or found.get(LABEL_REUSE):
            continue
        try:
            pid = int(found.get(LABEL_PID, ""))
        except ValueError:
            continue
        if not found.get(LABEL_REUSE) and (pid == os.getpid() or _pid_alive(pid)):
            continue
        try:
            with engine.errors(f"the removal of container {container.name}"):
                container.remove(force=True)
        except LambdaContainerError:
            continue
        removed.append(container.name or container.id or "")
    return removed


def _outdated(engine: Engine, container: Any) -> bool:
    """Whether a reused container runs an image its tag no longer names: the tag was moved to a newer build (a
    rebuilt `my-fn:latest`), or removed. (A plugin-built image's content tag never moves: a changed build gets a new
    tag, and the next run of that function replaces the container in its slot.)"""
    ref = (container.labels or {}).get(LABEL_REUSE_IMAGE)
    if not ref:
        return False
    try:
        with engine.errors("a look at a reused container's image"):
            try:
                return bool(engine.client.images.get(ref).id != (container.attrs or {}).get("Image"))
            except docker_errors.ImageNotFound:
                return True
    except LambdaContainerError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def age(created: str | None, *, now: datetime | None = None) -> float:
    """Seconds since an engine's timestamp (Docker's RFC 3339 with nanoseconds and Z, Podman's with an offset);
    0 when it cannot be read, so that nothing is taken for old by mistake."""
    found = _TIMESTAMP.match((created or "").strip())
    if not found:
        return 0.0
    seconds, fraction, zone = found.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    # Six digits: older Pythons' fromisoformat reads no other fraction.
    micro = (fraction or ".")[1:7].ljust(6, "0")
    when = datetime.fromisoformat(f"{seconds}.{micro}{zone}")
    return max(0.0, ((now or datetime.now(timezone.utc)) - when).total_seconds())
