"""A build's output made fit for a person: its steps, a heartbeat while a step runs long, its own lines when
asked (`-v`), and, when it fails, a log tail without terminal escape codes and a hint when the cause is the
build's network."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ..errors import BuildFailed


@dataclass(frozen=True)
class BuildProgress:
    """One line of build progress: the step (when the builder says), and the text."""

    step: int | None
    total: int | None
    text: str


ProgressCallback = Callable[[BuildProgress], None]
#: A builder's way of spotting a step line: (step, total, text), or None for any other line.
StepParser = Callable[[str], "tuple[int, int, str] | None"]

#: A step running longer than this says it is still alive, and again each time this much passes.
HEARTBEAT = 10.0
#: Lines of the build log a failure shows.
TAIL = 40
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
#: What a build says when it cannot resolve or reach a host: a sandboxed build network is the usual cause.
NETWORK_FAILURES = (
    "Temporary failure in name resolution",
    "Could not resolve",
    "Name or service not known",
    "Network is unreachable",
    "No route to host",
    "Failed to establish a new connection",
)
NETWORK_HINT = (
    "hint: the build could not resolve or reach a host. Where this machine reaches the network only through "
    "the host (a proxy, a VPN, some CI runners), build with --lambda-build-network host "
    "(ini lambda_build_network = host)."
)


def plain(text: str) -> str:
    """`text` without terminal escape codes, and of each carriage-return-overwritten line only what stays."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in _ESCAPES.sub("", text).split("\n"))


class BuildOutput:
    """Takes a build's output, chunk by chunk; says its steps through `report`, and, while the output is
    consumed (as a context manager), a "still building step N/M (S s)" line when a step runs long."""

    def __init__(
        self,
        report: ProgressCallback,
        parse_step: StepParser,
        *,
        stream_output: bool = False,
        heartbeat: float = HEARTBEAT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._parse_step = parse_step
        self.stream_output = stream_output
        self.heartbeat = heartbeat
        self._clock = clock
        self.tail: deque[str] = deque(maxlen=TAIL)
        self._partial = ""
        self._step: tuple[int, int, str] | None = None
        self._step_started = self._last_said = clock()
        # Lines come from the reading thread and the heartbeat's: one at a time.
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BuildOutput:
        self._thread = threading.Thread(target=self._beat, name="lambda-build-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.feed("\n")

    def say(self, progress: BuildProgress) -> None:
        """Report one line (and count it as a sign of life)."""
        with self._lock:
            self._last_said = self._clock()
            self._report(progress)

    def feed(self, text: str) -> None:
        """Some of the build's output; whole lines are taken, a partial one waits for its end."""
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self._line(plain(line).rstrip())

    def _line(self, line: str) -> None:
        if not line.strip():
            return
        self.tail.append(line)
        step = self._parse_step(line)
        if step is not None:
            if step != self._step:  # some builders print a step's header again between its output lines
                self._step, self._step_started = step, self._clock()
                self.say(BuildProgress(*step))
        elif self.stream_output:
            self.say(BuildProgress(None, None, f"  {line}"))

    def heartbeat_line(self) -> str | None:
        """The "still building" line due now, if any: a step has run, and nothing was said, for `heartbeat` s."""
        now = self._clock()
        with self._lock:
            if self._step is None or min(now - self._step_started, now - self._last_said) < self.heartbeat:
                return None
            step, total, _ = self._step
            return f"still building step {step}/{total} ({now - self._step_started:.0f} s)"

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat / 4)):
            line = self.heartbeat_line()
            if line is not None:
                self.say(BuildProgress(None, None, line))

    def failure(self, dockerfile: Path, context: Path, error: str, *, network_mode: str | None) -> BuildFailed:
        """The error for a failed build: its cause, a hint when the network is the likely culprit, its log tail."""
        with self._lock:
            log_tail = "\n".join(self.tail)
        error = plain(error).strip()
        hint = ""
        if network_mode != "host" and any(cause in f"{log_tail}\n{error}" for cause in NETWORK_FAILURES):
            hint = NETWORK_HINT + "\n"
        # The log tail travels as the error's `.logs`, not in its message: the report shows it once, and a
        # summary line (`-r`, CI's untruncated one) stays one error, not thirty lines.
        return BuildFailed(
            f"building {dockerfile} (context {context}) failed: {error}" + (f"\n{hint.rstrip()}" if hint else ""),
            dockerfile=str(dockerfile),
            log_tail=log_tail,
        )
