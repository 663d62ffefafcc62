"""How a session ends: each container removed, kept (`--lambda-keep`) or left for the next run (`--lambda-reuse`),
at once or in the background while pytest reports. The base of `LambdaSession` (session.py), which starts them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..config.function import ResolvedFunction
from ..config.settings import Settings
from ..engine import hygiene, removals
from ..engine.client import Engine
from .function import LambdaContainer
from .instruments import Instruments
from .pool import FunctionPool, end_all
from .protocol import kept_line

if TYPE_CHECKING:
    from . import reuse

Log = Callable[[str], None]


class HandOff(Protocol):
    """Containers started by another process of the run, for this session to take (`container.handoff`)."""

    def take(self, fn: ResolvedFunction, engine: Callable[[], Engine], log: Log) -> LambdaContainer | None: ...

    def used(self, fn: ResolvedFunction) -> None: ...

    def give_back(self, container: LambdaContainer) -> bool: ...


class SessionEnd:
    """A session's containers ended: `close()`, and `_end` for one."""

    settings: Settings
    log: Log
    handoff: HandOff | None
    instruments: Instruments | None
    _lock: threading.RLock
    _engine: Engine | None
    _sweeping: threading.Thread | None
    _containers: dict[ResolvedFunction, LambdaContainer | FunctionPool]
    #: With `reuse`: this run's hold on the slot of each container it took or left for the next run.
    _claims: dict[int, reuse.Claim]

    @property
    def containers(self) -> list[LambdaContainer]:
        """The containers started so far (with `concurrency` over 1, each of every function's)."""
        with self._lock:
            functions = list(self._containers.values())
        return [m for f in functions for m in (f.members if isinstance(f, FunctionPool) else [f])]

    def _end(self, container: LambdaContainer) -> None:
        """Remove `container`, or let go of it: kept (`keep`), or left for the next run (`reuse`)."""
        held = self._claims.pop(id(container), None)
        if self.handoff is not None and self.handoff.give_back(container):
            container.release()  # the controller that started it removes it, with the others, at once
        elif self.settings.keep or held is not None:
            if held is not None and not self.settings.keep:
                self.log(f"leaving container {container.name} running for the next run (--lambda-reuse)")
            container.release()
        else:
            container.remove()
        if held is not None:
            held.release()

    def close(self, *, wait: bool = True) -> None:
        """Remove every container started (or, with `keep`, leave them running and say how to reach them).

        `wait=False`: the session is closed at once (no container listed or served any more), and the removals
        finish in the background, while pytest reports (issue 17: a removal is ~0.3 s of a one-test run);
        `hygiene.settle()` waits for them to end, and the process's exit until Docker has them in hand (it ends
        them after the process is gone: engine/removals.py; on Podman, to their end). Kept, reused and measured
        containers (coverage is read out of them at their removal) are ended here and now.
        """
        if not wait and not (self.settings.keep or self.settings.reuse) and self.instruments is None:
            with self._lock:
                functions, sweeping, engine = list(self._containers.values()), self._sweeping, self._engine
                self._containers.clear()
                self._sweeping = self._engine = None
            if sweeping is not None:
                # Here, before pytest's summary: what the sweep says is said above it, never under it (it ended long
                # before the session as a rule).
                sweeping.join()
            members = [m for f in functions for m in (f.members if isinstance(f, FunctionPool) else [f])]
            handed = removals.Removals.of(engine, [getattr(m, "container", None) for m in members])
            hygiene.finish_later(
                lambda: self._finish(functions, None, engine), taken_over=None if handed is None else handed.taken_over
            )
            return
        with self._lock:
            if self.settings.keep:
                for container in self.containers:
                    self.log(kept_line(container, self.settings.event_format))
            functions, sweeping, engine = list(self._containers.values()), self._sweeping, self._engine
            self._containers.clear()
            self._sweeping = None
            if not self.settings.keep:
                self._engine = None
            self._finish(functions, sweeping, engine)

    def _finish(
        self, functions: list[LambdaContainer | FunctionPool], sweeping: threading.Thread | None, engine: Engine | None
    ) -> None:
        """End `functions` (`_end`: all at once, but for a worker's, which the hand-off may give back, one by one),
        read what the instruments measured, wait for the sweep, close the engine."""
        if self.handoff is None:
            end_all(functions, self._end)
        else:
            for function in functions:
                function.end(self._end) if isinstance(function, FunctionPool) else self._end(function)
        if self.instruments is not None:
            self.instruments.close()
        if sweeping is not None:
            sweeping.join()
        if engine is not None and not self.settings.keep:
            engine.close()
