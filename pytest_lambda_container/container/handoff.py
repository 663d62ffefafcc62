"""pytest-xdist: the controller starts the run's functions while its workers boot, and hands each container to the
worker that needs that function first (issue 17: the cold starts overlap pytest's own start, side by side).

Which functions: those the workers of this project's last xdist run used (as many containers of each as workers used
it), or, the first time, the configured one. A worker takes a container only if it is of the very function it needs
(the same `ResolvedFunction`: image or build, handler, environment, timeout); one it needs that the controller did not
start, or whose start failed, it starts itself, as without xdist (and its test says why, once). What no worker took,
the controller removes at its end, as it removes any container started under its labels (a killed worker's too).

The controller's run folder (private; removed at its end, or by the next run after a kill: handoff_files.py) holds,
for each container (its *slot*):
  <slot>.ready  a lock the controller holds while it starts the container: a worker that needs it waits on it
  <slot>.json   what was started: the container's id, its plan, the warm-up's init duration and request id
  <slot>.claim  a lock the worker that took the container holds until it exits (the kernel's flock): no other worker
                ever sends it a call (the classic emulator panics on a second concurrent one)
  used-<worker>.json  the functions that worker used ([] if it ran tests with none), for the next run's controller
The containers carry the controller's labels (its session, its pid) while a worker calls them: it owns and removes them.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import itertools
import json
import pickle
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..config.function import ResolvedFunction
from ..config.settings import Settings
from ..engine import hygiene
from ..engine.client import Engine
from ..engine.hygiene import LABEL_SESSION
from ..errors import LambdaContainerError
from ..parallel import used_file
from . import handoff_files
from .docker import DockerContainer
from .function import LambdaContainer
from .handoff_files import MOST, memory_file, to_json
from .reuse import remove
from .session import LambdaSession

Log = Callable[[str], None]
#: A start's turn to plan: the event it waits for (the plan before its own is done), and the one it sets.
Turn = tuple[threading.Event, threading.Event]

#: How long a worker waits for the controller's start of a container it claimed (a build included), before its own.
READY_WAIT = 300.0


def _quiet(_line: str) -> None:
    """The controller's starts say nothing: a start that fails is the worker's to report, once, with its test."""


def slot_of(fn: ResolvedFunction, member: int) -> str:
    """The name of the `member`-th container of `fn` started ahead, the same in every process of the run."""
    return hashlib.sha256(repr((fn, member)).encode()).hexdigest()[:20]


class Starts:
    """The controller's side: containers started in the background while the workers boot, removed at `close()`."""

    def __init__(self, settings: Settings, log: Log, *, stream_build_output: bool = False) -> None:
        self.settings = settings
        handoff_files.sweep_folders()  # those of controllers killed before their end
        self.folder = handoff_files.new_folder()
        # Its log is the build's progress (the image builds here, once, before any worker needs it); the starts
        # themselves are quiet.
        self.session = LambdaSession(settings, log=log, warn=log, stream_build_output=stream_build_output)
        self._threads: list[threading.Thread] = []
        #: What was started, by slot.
        self._started: dict[str, LambdaContainer] = {}
        #: The removals of containers the workers gave back, under way.
        self._removals: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closed = False
        #: The containers' slots, as `begin` named them.
        self.slots: list[str] = []

    def begin(self, functions: Iterable[ResolvedFunction]) -> None:
        """Start a container of each of `functions` (repeated: one more each), each in its own thread."""
        members: collections.Counter[ResolvedFunction] = collections.Counter()
        slots = self.slots
        # Planned in this order (plans take turns on the session anyway): the first needed are the first created.
        planned = threading.Event()
        planned.set()
        for fn in list(functions)[:MOST]:
            slot, port = slot_of(fn, members[fn]), self.settings.port if not slots else 0
            members[fn] += 1
            ready = FileLock(str(self.folder / f"{slot}.ready"), thread_local=False)
            ready.acquire()  # here, before any worker exists: one that needs the slot waits for its start
            turn: Turn = (planned, planned := threading.Event())
            thread = threading.Thread(
                target=self._start, args=(slot, fn, port, ready, turn), name=f"lambda-handoff-{slot}"
            )
            thread.daemon = True
            self._threads.append(thread)
            slots.append(slot)
        for thread in self._threads:
            thread.start()

    def _start(self, slot: str, fn: ResolvedFunction, port: int, ready: FileLock, turn: Turn) -> None:
        try:
            turn[0].wait()  # the plan before this one's is done
            try:
                plan = self.session.plan(fn)
            finally:
                turn[1].set()
            container = LambdaContainer.start(self.session.engine(), plan, port=port, log=_quiet)
            with self._lock:
                self._started[slot] = container
                if self._closed:  # the run ended while it started
                    container.remove()
                    return
            current = container._current
            assert current is not None
            record = {
                "id": container.id,
                "plan": base64.b64encode(pickle.dumps(container.plan)).decode(),
                "init_ms": current.init_ms,
                "hidden_request": current.hidden_request,
            }
            partial = self.folder / f"{slot}.tmp"
            partial.write_text(json.dumps(record))
            partial.replace(self.folder / f"{slot}.json")
        except Exception:
            pass  # the worker that needs it starts its own, and its test says what went wrong, once
        finally:
            ready.release()

    def remember(self) -> None:
        """Remember the functions this run's workers used, for the next run's controller to start ahead."""
        told = sorted(self.folder.glob("used-*.json"))
        if not told:
            return  # no worker ran a test (collect-only, or stopped before one): the last memory stands
        lists: list[list[dict[str, Any]]] = []
        for path in told:
            try:
                lists.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        # Each worker's first function, then each one's second...: the next run plans and creates them in that order.
        used = [fn for column in itertools.zip_longest(*lists) for fn in column if fn is not None]
        target = memory_file(self.settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{id(self)}.tmp")
        partial.write_text(json.dumps(used))
        partial.replace(target)
        handoff_files.prune_memories(target.parent)

    def remove_given_back(self) -> None:
        """Start removing the containers the workers gave back (a worker is done): the others' end need not wait."""
        with self._lock:
            for path in self.folder.glob("*.returned"):
                slot = path.name.removesuffix(".returned")
                container = self._started.get(slot)
                if container is not None and slot not in self._removals:
                    self._removals[slot] = threading.Thread(target=container.remove, name=f"lambda-handoff-rm-{slot}")
                    self._removals[slot].start()

    def close(self) -> None:
        """Remove every container started here or under this session's labels (by a worker, since), at once."""
        with self._lock:
            self._closed = True
            started = {slot: c for slot, c in self._started.items() if slot not in self._removals}
            under_way = list(self._removals.values())
        removals = [threading.Thread(target=c.remove) for c in started.values()]
        if self.slots:  # else no container carries this session's labels: the engine is not even asked
            removals += self._leftovers()
        for thread in removals:
            thread.start()
        # And starts still under way (the run ended first; daemons): each removes its container once up (`_closed`).
        for thread in [*removals, *under_way, *self._threads]:
            thread.join()
        self.session.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _leftovers(self) -> list[threading.Thread]:
        """The removals of the containers started under this session's labels, not here (by a worker, since)."""
        try:
            engine = self.session.engine()
            with engine.errors("the listing of the workers' containers"):
                found = engine.client.containers.list(
                    all=True, ignore_removed=True, filters={"label": f"{LABEL_SESSION}={self.session.id}"}
                )
        except LambdaContainerError:
            return []  # the engine is gone: the next run's sweep removes what is left (its labels name this process)
        mine = {c.id for c in self._started.values()}
        removals = [threading.Thread(target=remove, args=(engine, c)) for c in found if c.id not in mine]
        # And what a worker that went down without ending its session started (killed, crashed, or ended at Ctrl-C
        # before its teardown): its process is gone now, so its containers count as left behind.
        return [*removals, threading.Thread(target=hygiene.reap_orphans, args=(engine,))]


class Takes:
    """A worker's side: the containers the controller started, each taken by the first worker that needs it."""

    def __init__(self, folder: Path, slots: Iterable[str], worker: str) -> None:
        self.folder = folder
        self.slots = frozenset(slots)
        self.worker = worker
        self._claims: list[FileLock] = []
        #: The containers this worker took, and their slots.
        self._taken: dict[int, str] = {}
        self._used: list[dict[str, Any]] = []

    def take(self, fn: ResolvedFunction, engine: Callable[[], Engine], log: Log) -> LambdaContainer | None:
        """A container of `fn` the controller started and no other worker took, ready to call; None if there is
        none (then the session starts its own)."""
        member = 0
        while (slot := slot_of(fn, member)) in self.slots:
            member += 1
            claim = FileLock(str(self.folder / f"{slot}.claim"), thread_local=False)
            try:
                claim.acquire(timeout=0)
            except Timeout:
                continue  # another worker's
            self._claims.append(claim)  # held until this process exits: never another worker's after
            try:
                ready = FileLock(str(self.folder / f"{slot}.ready"), thread_local=False)
                ready.acquire(timeout=READY_WAIT)
                ready.release()
                record = json.loads((self.folder / f"{slot}.json").read_text())
            except (OSError, ValueError, Timeout):
                return None  # its start failed, or is too slow: this worker's own
            return self._adopt(slot, engine(), record, log)
        return None

    def _adopt(self, slot: str, engine: Engine, record: dict[str, Any], log: Log) -> LambdaContainer | None:
        # Pickled by this run's controller, in its private folder: the plan it started the container with.
        plan = pickle.loads(base64.b64decode(record["plan"]))
        try:
            with engine.errors("the inspection of a container started ahead"):
                found = engine.client.containers.get(record["id"])
            current = DockerContainer.adopt(engine, plan, found, ready_timeout=5.0, log=log)
        except LambdaContainerError:
            return None
        current.init_ms, current.hidden_request = record["init_ms"], record["hidden_request"]
        taken = LambdaContainer.adopt(engine, current, log=log)
        self._taken[id(taken)] = slot
        return taken

    def give_back(self, container: LambdaContainer) -> bool:
        """Give `container` back to the controller if this worker took it (it then lets go of it): the controller
        removes it once this worker is done, while the others still run, and this worker's end does not wait."""
        slot = self._taken.pop(id(container), None)
        if slot is None:
            return False
        try:
            (self.folder / f"{slot}.returned").touch()
        except OSError:
            pass  # the controller's folder is gone: it removed it already, or does at its end
        return True

    def used(self, fn: ResolvedFunction) -> None:
        """Remember that this worker used `fn` (for the next run's controller to start it ahead), once."""
        if to_json(fn) in self._used:
            return
        self._used.append(to_json(fn))
        partial = self.folder / f"used-{self.worker}.tmp"
        try:
            partial.write_text(json.dumps(self._used))
            partial.replace(used_file(self.folder, self.worker))
        except OSError:
            pass  # the controller's folder is gone (it ended): nothing to remember for
