"""What keeps the engine clean: our labels, the containers this process has live, and the sweep of orphans."""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from docker import errors as docker_errors

from ..errors import LambdaContainerError
from .client import Engine
from .liveness import age, pid_alive

#: Every container and image the plugin makes carries this label.
LABEL = "pytest-lambda-container"
#: The owner of a container: the session that removes it (its id), its pytest process and that process's host. The
#: sweep, `clean` and the tests read them as "whose, and alive while that process is". The owner is the process that
#: started the container: under pytest-xdist, a container the controller starts ahead and hands to a worker
#: (container/handoff.py) carries the controller's session and pid while the worker calls it, because the controller
#: removes it (a worker that dies leaves it to its controller, never to the sweep).
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
#: The container the tests ran in, when the engine runs it too (engine/reach.py): once it is gone, so is the run.
LABEL_PARENT = f"{LABEL}.tests-container"
#: Containers of a run on another machine (no pid to check, no tests container to ask about) count as left behind
#: once this old: a CI job killed on a remote engine leaves them, and no session there lasts this long.
ORPHAN_AGE = 12 * 3600.0
#: On the volumes that deliver files into containers (container/delivery.py), and their fill helpers: which kind.
LABEL_DELIVERY = f"{LABEL}.delivery"


class Removable(Protocol):
    """Anything that can remove its container."""

    def remove(self) -> None: ...


@dataclass(frozen=True)
class _Teardown:
    thread: threading.Thread
    #: Set when the work is over, or (at the process's exit) when the engine has taken its removals over.
    over: threading.Event
    taken_over: Callable[[], bool] | None


_LIVE: dict[int, Removable] = {}
_LIVE_LOCK = threading.Lock()
_AT_EXIT = False
#: Teardown work left to finish in the background (`finish_later`): `settle` waits for its end, the exit for its
#: hand-over to the engine at least (`_settle_at_exit`).
_PENDING: list[_Teardown] = []
_SETTLE_AT_EXIT = False


def warn(line: str) -> None:
    """Say something on stderr (where no pytest terminal is at hand: at interpreter exit, from plain Python)."""
    print(f"pytest-lambda-container: {line}", file=sys.stderr)


def new_session_id() -> str:
    """An id for one test session, stored in its containers' labels."""
    return uuid.uuid4().hex[:12]


def labels(session_id: str, *, keep: bool = False, parent: str = "") -> dict[str, str]:
    """Labels that mark a container as ours, and whose (this session, this process, this host, and the container
    the tests run in, `parent`, when the engine runs them)."""
    out = {LABEL: "1", LABEL_SESSION: session_id, LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname()}
    if keep:
        out[LABEL_KEEP] = "1"
    if parent:
        out[LABEL_PARENT] = parent
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


def finish_later(work: Callable[[], None], *, taken_over: Callable[[], bool] | None = None) -> None:
    """Run `work` (a session's removals) in the background (issue 17: pytest reports meanwhile); `settle` waits for
    it, and so does the process's exit: to its end, or with `taken_over` (blocks until the engine has every removal of
    `work` in hand; False when it cannot tell) only until the engine has them: it ends them after the process is gone
    (engine/removals.py). Without `taken_over`, what `work` removes is removed as surely as if it were waited for now.
    """
    global _SETTLE_AT_EXIT
    over = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            over.set()

    thread = threading.Thread(target=run, name="lambda-container-teardown", daemon=True)
    with _LIVE_LOCK:
        _PENDING.append(_Teardown(thread, over, taken_over))
        if not _SETTLE_AT_EXIT:
            atexit.register(_settle_at_exit)
            _SETTLE_AT_EXIT = True
    thread.start()


def settle() -> None:
    """Wait for the teardown work left to finish in the background (`finish_later`), to its end: where this process
    goes on (a nested run), or must report its removals done (an xdist worker)."""
    for teardown in _take_pending():
        teardown.thread.join()


def _settle_at_exit() -> None:
    """At the process's exit: wait for each teardown to end, or for the engine to have its removals in hand."""
    for teardown in _take_pending():
        if teardown.taken_over is not None and teardown.thread.is_alive():
            threading.Thread(target=_watch, args=(teardown,), name="lambda-container-handover", daemon=True).start()
        teardown.over.wait()


def _watch(teardown: _Teardown) -> None:
    if teardown.taken_over is not None and teardown.taken_over():
        teardown.over.set()


def _take_pending() -> list[_Teardown]:
    with _LIVE_LOCK:
        pending = list(_PENDING)
        _PENDING.clear()
    return pending


def remove_session(session_id: str) -> None:
    """Remove what this process still has live of session `session_id` (its labels say whose each container is): a
    run nested in another (pytester) leaves none of its containers to the process's exit, by when the engine it
    reached (a proxy, a context the test set) may be gone."""
    for container in live():
        plan_labels = getattr(getattr(container, "plan", None), "labels", None) or {}
        if plan_labels.get(LABEL_SESSION) == session_id:
            container.remove()


def remove_all() -> None:
    """Remove every container this process started (at session end, on Ctrl-C, at interpreter exit)."""
    for container in live():
        container.remove()


def is_orphan(
    found: Mapping[str, str],
    *,
    host: str,
    age: float,
    pid_alive: Callable[[int], bool],
    parent_running: Callable[[str], bool],
) -> bool:
    """Whether a container of ours (its labels `found`, `age` seconds old) was left behind by a run that is gone.

    The rules, each one the engine or this machine can check: a run on this host is gone when its pytest process
    is; a run in a container of the same engine, when that container no longer runs (a killed CI job container);
    any other (a remote machine's, with nothing here to ask) once it is `ORPHAN_AGE` old. Kept and reused
    containers are never orphans (reused ones of a moved tag are swept apart).
    """
    if found.get(LABEL_KEEP) or found.get(LABEL_REUSE):
        return False
    if found.get(LABEL_HOST) == host:
        try:
            pid = int(found.get(LABEL_PID, ""))
        except ValueError:
            return False
        return pid != os.getpid() and not pid_alive(pid)
    if found.get(LABEL_PARENT):
        return not parent_running(found[LABEL_PARENT])
    return age > ORPHAN_AGE


def reap_orphans(engine: Engine) -> list[str]:
    """Remove our containers left behind by runs that are gone (`is_orphan`); names removed.

    Best effort: an engine that fails here fails again, clearly, at the call that needs it. What it judges by is in the
    engine's list itself (`sparse`): the SDK's full listing would inspect every container, one round trip each, at
    every session's start (xdist workers, and pytester's runs, each start one, while the others' containers run).
    """
    host = socket.gethostname()
    removed = []
    try:
        with engine.errors("the listing of our containers"):
            candidates = engine.client.containers.list(all=True, sparse=True, filters={"label": LABEL})
    except LambdaContainerError:
        return []
    for container in candidates:
        listed = container.attrs or {}
        found = listed.get("Labels") or {}
        if found.get(LABEL_DELIVERY):
            continue  # a volume's fill helper: delivery.py judges those by their own age
        outdated = bool(found.get(LABEL_REUSE)) and _outdated(engine, found, listed.get("ImageID"))
        orphan = is_orphan(
            found,
            host=host,
            age=age(listed.get("Created")),
            pid_alive=pid_alive,
            parent_running=lambda parent: _running(engine, parent),
        )
        if not (outdated or orphan):
            continue
        name = next(iter(listed.get("Names") or ()), "").lstrip("/") or container.id or ""
        try:
            with engine.errors(f"the removal of container {name}"):
                container.remove(force=True)
        except LambdaContainerError:
            continue  # gone meanwhile (another run's sweep, its own end), or the engine says why next time
        removed.append(name)
    return removed


def _outdated(engine: Engine, labels: dict[str, str], image_id: str | None) -> bool:
    """Whether a reused container (its `labels`) runs an image (`image_id`) its tag no longer names: the tag was moved
    to a newer build (a rebuilt `my-fn:latest`), or removed. (A plugin-built image's content tag never moves: a changed
    build gets a new tag, and the next run of that function replaces the container in its slot.)"""
    ref = labels.get(LABEL_REUSE_IMAGE)
    if not ref:
        return False
    try:
        with engine.errors("a look at a reused container's image"):
            try:
                return bool(engine.client.images.get(ref).id != image_id)
            except docker_errors.ImageNotFound:
                return True
    except LambdaContainerError:
        return False


def _running(engine: Engine, container_id: str) -> bool:
    """Whether the engine runs the container `container_id` (when it cannot tell: yes, so nothing is removed)."""
    try:
        with engine.errors("a look at a tests container"):
            try:
                found = engine.client.containers.get(container_id)
            except docker_errors.NotFound:
                return False
    except LambdaContainerError:
        return True
    return bool(((found.attrs or {}).get("State") or {}).get("Running"))
