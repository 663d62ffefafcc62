"""A start run in a background thread, its outcome kept: the container target starts the configured function while
pytest collects (`collecting.py`). No Docker here: the start is whatever callable it is given."""

from __future__ import annotations

import threading
from collections.abc import Callable


class EarlyStart:
    """A start run in a background thread while pytest collects (issue 17: the container's start and init overlap
    pytest's own work): `wait()` returns once it is done, or raises what it raised, every time (never started
    twice); `discard()` has what it started removed at once, or as soon as it is done."""

    def __init__(self, start: Callable[[], object], discard: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        #: What the start returned, once it has.
        self.result: object = None
        self._start, self._discard, self._discarded = start, discard, False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lambda-container-early-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._start()
        except BaseException as exc:  # raised at the first test that needs it, not in this thread
            self.error = exc
        with self._lock:
            if self._discarded:
                self._discard()

    def wait(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error.with_traceback(None)

    def discard(self) -> None:
        with self._lock:
            self._discarded = True
            if not self._thread.is_alive():
                self._discard()
