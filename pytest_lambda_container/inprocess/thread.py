"""The one thread an in-process function runs in: its import and its calls, one at a time, in the function's context.

A daemon thread, not a `ThreadPoolExecutor`: the executor's threads are joined when the interpreter exits, so a
handler stuck past its timeout (a thread cannot be stopped) would hold the test run open after its last test.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Callable[[], Any], "Future[Any]"]


class FunctionThread:
    """A daemon thread running submitted calls in order; `enter` runs first, in the thread (to set its context)."""

    def __init__(self, enter: Callable[[], None], *, name: str = "lambda-inprocess") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, args=(enter,), name=name, daemon=True)
        self._thread.start()

    def _run(self, enter: Callable[[], None]) -> None:
        enter()
        while (job := self._jobs.get()) is not None:
            call, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as exc:  # the caller's to judge, as concurrent.futures does: SystemExit included
                future.set_exception(exc)
            else:
                future.set_result(result)

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run `call` in the thread after those before it; its future."""
        future: Future[T] = Future()
        self._jobs.put((call, future))
        return future

    def shutdown(self) -> None:
        """End the thread after the calls already submitted (a call still running finishes on its own)."""
        self._jobs.put(None)
