"""A start run in a background thread, its outcome kept: the container target starts the configured function while
pytest collects, or before, when the last run of the command line needed it (`collecting.py`). No Docker here: the
start is whatever callables it is given."""

from __future__ import annotations

import threading
from collections.abc import Callable


class EarlyStart:
    """A start run in a background thread while pytest collects (issue 17: the container's start and init overlap
    pytest's own work): `wait()` returns once it is done, or raises what it raised, every time (never started
    twice); `discard()` has what it started removed at once, or as soon as it is done, unless `wait()` claims it
    first.

    `prepare` runs first (the session's engine and image: imports, an engine round trip, the build check), then
    `start`; `hold()` lets the caller wait for the preparation (`collecting.start_before_conftests`).
    """

    def __init__(
        self, start: Callable[[], object], discard: Callable[[], None], *, prepare: Callable[[], object] | None = None
    ) -> None:
        self.error: BaseException | None = None
        #: What the start returned, once it has.
        self.result: object = None
        self._prepare, self._start, self._discard = prepare, start, discard
        self._discarded = self._done = False
        self._prepared = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lambda-container-early-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._prepare is not None:
                self._prepare()
            self._prepared.set()
            self.result = self._start()
        except BaseException as exc:  # raised at the first test that needs it, not in this thread
            self.error = exc
        finally:
            self._prepared.set()
        with self._lock:
            self._done = True
            if self._discarded:
                self._discard()

    def hold(self, timeout: float) -> bool:
        """Wait until the preparation is done (or failed), at most `timeout` seconds; whether it is."""
        return self._prepared.wait(timeout)

    def wait(self) -> None:
        """Wait for the start, and keep what it started (a `discard` asked before it was done is taken back)."""
        with self._lock:
            if not self._done:
                self._discarded = False
        self._thread.join()
        if self.error is not None:
            raise self.error.with_traceback(None)

    def settle(self) -> None:
        """Wait until the start is over, and what a `discard` asked meanwhile removed."""
        self._thread.join()

    def discard(self) -> None:
        with self._lock:
            self._discarded = True
            if self._done:
                self._discard()
