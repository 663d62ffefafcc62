"""The function's output, line by line as it runs: a thread that follows the log of whichever container serves it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

from ..container.function import LambdaContainer
from ..container.metrics import mark_emulator_figures
from ..container.protocol import split_log_lines
from ..errors import LambdaContainerError

Log = Callable[[str], None]
#: Set before each of the function's lines, apart from the gateway's own.
PREFIX = "  | "


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines of a log stream whose chunks end anywhere, as a person reads them (`split_log_lines`)."""
    pending = ""
    for chunk in chunks:
        pending += chunk.decode("utf-8", "replace")
        *done, pending = split_log_lines(pending).split("\n")
        yield from (line.rstrip("\r") for line in done)
    if pending:
        yield pending


class LogFollower:
    """Prints each line `function` writes, with `PREFIX`, until `stop()`. A container that died and was replaced
    is followed in its new container; a stream the engine ended early is picked up again where it left off."""

    def __init__(self, function: LambdaContainer, log: Log, *, poll: float = 0.2) -> None:
        self.function = function
        self.log = log
        self.poll = poll
        self._stop = threading.Event()
        # A daemon: a log stream blocks in a read that only the container's removal ends.
        self._thread = threading.Thread(target=self._follow, name="serve-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop following (the read in flight ends when the container is removed)."""
        self._stop.set()

    def _follow(self) -> None:
        since: float | None = None
        followed = ""
        while not self._stop.is_set():
            container, current = self.function.container, self.function.id
            if container is None:  # removed
                return
            if current == followed and self.function.exit_code() is not None:
                # Its stream ended with it: wait for the next call to start a fresh container.
                self._stop.wait(self.poll)
                continue
            if current != followed:  # a fresh container: all of its output
                followed, since = current, None
            try:
                with self.function.engine.errors(f"the log stream of container {self.function.name}"):
                    stream = container.logs(stream=True, follow=True, stdout=True, stderr=True, since=since)
                    for line in lines_of(stream):
                        since = time.time()
                        if not self._stop.is_set():
                            self.log(PREFIX + mark_emulator_figures(line))
            except LambdaContainerError as exc:
                if self._stop.is_set() or self.function.container is None:
                    return
                self.log(f"(the function's log stream broke off: {exc}; following it again)")
                self._stop.wait(1.0)
            # Ended early (the engine's read timeout on a quiet stream): on from here, nothing twice.
            since = since or time.time()
