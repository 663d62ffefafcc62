"""Several execution environments of one function, as on-demand Lambda scales (`--lambda-concurrency N`).

Lambda gives each concurrent request an execution environment of its own: a request goes to an idle one, or a new
one is started (a cold start) while fewer than the function's concurrency exist; past that limit Lambda throttles
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). Here a call past the limit waits for a free
environment instead of failing: a test asks how the function behaves under N concurrent calls, not what throttling
looks like. Each environment is a `LambdaContainer` of its own, under the classic emulator, which must never get two
calls at once (it panics): the pool hands a container to one call at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from ..build.image import ImageInfo
from ..errors import ContainerError
from . import metrics
from .function import LambdaContainer, State
from .launch import LaunchPlan


class FunctionPool:
    """Up to `size` containers of one function behind `LambdaContainer`'s contract (`invoke_event`, `last_report`,
    `logs()`, `url`...). The first container exists from the start; the others are started by `start`, when a call
    finds every existing one busy. `url`, `port`, `name` and `id` are the first container's."""

    def __init__(self, first: LambdaContainer, size: int, start: Callable[[], LambdaContainer]) -> None:
        if size < 1:
            raise ValueError(f"a pool holds at least one container, not {size}")
        self.size = size
        self._start = start
        self._members = [first]
        # Most recently freed last: a call takes the warmest container, as Lambda reuses a warm environment first.
        self._idle = [first]
        self._starting = 0
        self._closed = False
        self._free = threading.Condition()
        self._reports = threading.local()

    # -- what tests read --------------------------------------------------------------------------------------

    @property
    def members(self) -> list[LambdaContainer]:
        """The containers started so far, the first one first."""
        with self._free:
            return list(self._members)

    @property
    def primary(self) -> LambdaContainer:
        return self._members[0]

    @property
    def image(self) -> ImageInfo:
        return self.primary.image

    @property
    def plan(self) -> LaunchPlan:
        return self.primary.plan

    @property
    def timeout(self) -> float:
        return self.primary.timeout

    @property
    def url(self) -> str:
        return self.primary.url

    @property
    def port(self) -> int:
        return self.primary.port

    @property
    def name(self) -> str:
        return self.primary.name

    @property
    def id(self) -> str:
        return self.primary.id

    @property
    def state(self) -> State:
        return State.REMOVED if self._closed else self.primary.state

    @property
    def invocations(self) -> int:
        return sum(m.invocations for m in self.members)

    @property
    def restarts(self) -> int:
        return sum(m.restarts for m in self.members)

    @property
    def last_report(self) -> metrics.LazyReport | None:
        """This thread's last invocation's figures, from whichever container served it."""
        return getattr(self._reports, "last", None)

    def __repr__(self) -> str:
        return f"<FunctionPool {self.image.ref}: {len(self._members)}/{self.size} containers, first at {self.url}>"

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """Every container's output, one after the other, each under a line naming it when there are several."""
        members = self.members
        if len(members) == 1:
            return members[0].logs(tail=tail, since=since)
        return "\n".join(f"--- container {m.name} ---\n{m.logs(tail=tail, since=since)}" for m in members)

    def exit_code(self) -> int | None:
        return self.primary.exit_code()

    # -- invoking ---------------------------------------------------------------------------------------------

    def invoke_event(self, event: Any, *, timeout: float | None = None, **caller: Any) -> Any:
        """Invoke the function with `event` on an idle container (waiting for one past `size` calls in flight);
        `caller`: `tenant_id`, `client_context` (see `LambdaContainer.invoke_event`)."""
        member = self._acquire()
        try:
            return member.invoke_event(event, timeout=timeout, **caller)
        finally:
            self._reports.last = member.last_report
            self._release(member)

    def invoke_raw(self, payload: bytes, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        """POST a serialized event to an idle container (see `LambdaContainer.invoke_raw`)."""
        member = self._acquire()
        try:
            return member.invoke_raw(payload, timeout=timeout, **kwargs)
        finally:
            self._reports.last = member.last_report
            self._release(member)

    def _acquire(self) -> LambdaContainer:
        with self._free:
            while True:
                self._check_open()
                if self._idle:
                    return self._idle.pop()
                if len(self._members) + self._starting < self.size:
                    self._starting += 1
                    break
                self._free.wait()
        # Started outside the lock: the other calls go on while this one waits for its cold start.
        try:
            member = self._start()
        except BaseException:
            with self._free:
                self._starting -= 1
                self._free.notify()
            raise
        with self._free:
            self._starting -= 1
            self._members.append(member)
            if self._closed:  # removed while this one was starting: it goes too
                member.remove()
                self._check_open()
        return member

    def _release(self, member: LambdaContainer) -> None:
        with self._free:
            self._idle.append(member)
            self._free.notify()

    def _check_open(self) -> None:
        if self._closed:
            raise ContainerError(f"the containers of {self.image.ref} were removed; start new ones")

    # -- life -------------------------------------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start a fresh container in place of any idle one that died (the pool stays valid)."""
        with self._free:
            self._check_open()
            idle = list(self._idle)
        for member in idle:
            member.ensure_running()

    def remove(self) -> None:
        """Remove every container (idempotent); calls waiting for one fail."""
        self.end(lambda member: member.remove())

    def release(self) -> None:
        """Let go of every container without removing it (kept, or reused by the next run)."""
        self.end(lambda member: member.release())

    def end(self, how: Callable[[LambdaContainer], None]) -> None:
        """Refuse further calls (waiting ones fail), and end each container `how` says (removed, or let go of)."""
        with self._free:
            self._closed = True
            members = list(self._members)
            self._free.notify_all()
        for member in members:
            how(member)


def end_all(functions: list[LambdaContainer | FunctionPool], how: Callable[[LambdaContainer], None]) -> None:
    """End every container of `functions` as `how` says, all at once; back once all are ended. Each removal is
    ~0.25 s of the engine's (the kill, the network's teardown), so N of them one after the other cost N times that at
    the session's end, and the process's exit waits until the engine has the last (engine/removals.py)."""
    ending: list[threading.Thread] = []

    def apart(container: LambdaContainer) -> None:
        thread = threading.Thread(target=how, args=(container,), name="lambda-container-end", daemon=True)
        thread.start()
        ending.append(thread)

    for function in functions:
        if isinstance(function, FunctionPool):
            function.end(apart)
        else:
            apart(function)
    for thread in ending:
        thread.join()
