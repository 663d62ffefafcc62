"""A function's container over its life: launched, checked at start-up, replaced in place when it dies, removed or
released at the end. The base of `LambdaContainer` (function.py), which adds the calls."""

from __future__ import annotations

import enum
import threading

import httpx

from ..engine.client import Engine
from ..errors import ContainerError
from . import inside, memwatch, warmup
from .docker import DockerContainer, Log, ServingContainer
from .launch import LaunchPlan


class State(enum.Enum):
    """Where a function's container is in its life."""

    STARTING = "starting"
    READY = "ready"
    #: It died, or got stuck: the next call starts a fresh one in its place.
    DEAD = "dead"
    #: Removed (or released, with --lambda-keep): no more calls.
    REMOVED = "removed"


class ContainerLife(ServingContainer):
    """The container serving a function, replaced under the one object when it dies: what is built on it stays valid."""

    engine: Engine
    plan: LaunchPlan
    ready_timeout: float
    log: Log
    state: State
    restarts: int
    _oom: memwatch.OomWatch
    #: Made at the first container's start (`_serve`): its imports run while the engine starts it (`sdk.preload`).
    _http: httpx.Client | None
    _lock: threading.RLock

    def _new_client(self) -> httpx.Client:
        """The client that invokes the emulator (LambdaContainer's)."""
        raise NotImplementedError

    def _served(self) -> httpx.Client:
        """The client to the container now serving."""
        if self._http is None:
            raise ContainerError(f"container {self.name} ({self.plan.image.ref}) has not started")
        return self._http

    def _launch(self, port: int, *, vcpus: float | None = None) -> DockerContainer:
        started = DockerContainer.run(
            self.engine, self.plan, port=port, ready_timeout=self.ready_timeout, log=self.log, vcpus=vcpus
        )
        return self._serve(started)

    def _serve(self, current: DockerContainer) -> DockerContainer:
        self._current = current
        if self._http is None:
            self._http = self._new_client()
        self._http.base_url = httpx.URL(self._current.url)
        self._oom.close()
        # A new container, a new cgroup: its count starts at 0.
        self._oom = memwatch.OomWatch.of(
            self._current, self.name, self._current.plan, self.log, same_host=self.engine.reach.same_host
        )
        if self.state is State.REMOVED:  # removed while this one was starting: it goes too, with what serves it
            self._current.remove()
            self._oom.close()
            self._http.close()
            self._check_open()
        self.state = State.READY
        return current

    def _check_open(self) -> None:
        if self.state is State.REMOVED:
            raise ContainerError(f"container {self.name} ({self.plan.image.ref}) was removed; start a new one")

    def ensure_running(self) -> None:
        """Start a fresh container in place of this one if it has died (the object stays valid)."""
        with self._lock:
            self._check_open()
            if self.state is State.DEAD or self.exit_code() is not None:
                self._revive()

    def _revive(self, plan: LaunchPlan | None = None) -> DockerContainer:
        """A fresh container in place of the dead one (or of a new `plan`: no restart), on the same port if free."""
        port = self.port
        if self._current is not None:
            self._current.remove()
        self.restarts, self.plan = self.restarts + (plan is None), plan or self.plan
        if self.plan.has_init_room:  # given room by the warm-up, or adopted with it (--lambda-reuse)
            self.plan = inside.with_function_deadline(self.plan, self.engine)
        return self._launch(port)

    def check_startup(self) -> None:
        """Have the runtime init now, off the function's timeout, or check that it can start (`warmup.start_up`)."""
        if self._current is not None and self._http is not None:
            warmup.start_up(
                self._current,
                self._http,
                self.plan,
                self.log,
                self._revive,
                lambda answer: self._oom.over_memory(answer),
            )

    def remove(self) -> None:
        """Stop and remove the container (idempotent); the object cannot invoke any more.

        Not under the invocation lock: teardown (Ctrl-C, exit) must not wait for a call in flight; a restart
        racing with it sees the state and removes what it made.
        """
        self.state = State.REMOVED
        self._oom.close()
        if self._current is not None:
            self._current.remove()
        if self._http is not None:
            self._http.close()

    def release(self) -> None:
        """Let go of the container without removing it (it was kept for debugging)."""
        self.state = State.REMOVED
        if self._current is not None:
            self._current.release()
        if self._http is not None:
            self._http.close()

    def _raise_if_exited(self, what: str, *, within: float = 0.0) -> None:
        try:
            if self._current is not None:
                self._current.raise_if_exited(what, within=within)
        except ContainerError as exc:
            self.state = State.DEAD
            # Often raised while an httpx or decoding error is handled: that one says less than this, and its
            # frames would bury the user's line.
            raise exc from None
