"""What one invocation cost, as Lambda's REPORT line says it, read only when a test asks (never on the hot path).

The emulator's own REPORT line is partly made up: its "Max Memory Used" is the memory size whatever the function
does, its "Init Duration" is not the init's, and its "Duration" includes the init. The real figures are the
emulator's INIT REPORT and INVOKE RTDONE lines and the container cgroup's peak memory.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

_START = re.compile(r"^START RequestId: (?P<id>\S+)", re.MULTILINE)
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>\S+)(?P<fields>.*)$", re.MULTILINE)
_FIELD = re.compile(r"(?P<name>[A-Za-z ]+): (?P<value>[\d.]+) (?:ms|MB)")
_INIT = re.compile(r"INIT REPORT\(durationMs: (?P<ms>[\d.]+)\)")
_INIT_START = re.compile(r"INIT START\(")
_INVOKE_START = re.compile(r"INVOKE START\(requestId: [^)]*\)")
_INVOKE = re.compile(r"INVOKE RTDONE\(status: [^,]*, produced bytes: \d+, duration: (?P<ms>[\d.]+)ms\)")


#: The emulator's made-up "Max Memory Used" (the memory size, whatever the function did) on its REPORT lines.
_MADE_UP_PEAK = re.compile(r"^(REPORT RequestId: .*?Max Memory Used: \d+ MB)", re.MULTILINE)
EMULATOR_FIGURE = " (the emulator's figure, not measured: the real peak is in the response's lambda_report)"


def mark_emulator_figures(log: str) -> str:
    """A container's log with the emulator's made-up memory figure marked on each REPORT line, so that nobody
    reads it as the function's (`Report.max_memory_used_mb` is the real one)."""
    return _MADE_UP_PEAK.sub(lambda m: m.group(1) + EMULATOR_FIGURE, log)


@dataclass(frozen=True)
class Report:
    """One invocation's figures, in Lambda's units."""

    request_id: str
    #: The handler's run, without the init (as Lambda's Duration).
    duration_ms: float
    #: As the emulator bills it (it counts the init in).
    billed_duration_ms: float
    memory_size_mb: int
    #: The runtime's start and the handler's import, on the first call after a (re)start; else None.
    init_duration_ms: float | None
    #: The container's real peak since it started (cgroup v1 max usage, v2 memory.peak; files in /tmp count), in MB,
    #: as Lambda's Max Memory Used (the environment's peak); None where the engine does not tell, or when the report
    #: was first read after the next call began (read it before).
    max_memory_used_mb: float | None = None


def parse(log: str, *, peak_bytes: int | None = None, skip: Collection[str] = ()) -> Report | None:
    """The report of the invocation `log` begins with (the container's output since that call began), or None.

    Followed by its request id: the call's own START line is the first in `log` (but those of `skip`), its REPORT the
    one with that id. The call before may write its END and REPORT lines after this one began (the emulator writes
    them after it answers, and a pool's next call on the container does not wait), so the first REPORT in `log` can
    be that call's.
    """
    start = next((m for m in _START.finditer(log) if m.group("id") not in skip), None)
    reports = list(_REPORT.finditer(log))
    if start is None:
        last = reports[0] if reports else None
    else:
        last = next((m for m in reports if m.group("id") == start.group("id")), None)
    if last is None:
        return None
    fields = {m.group("name").strip(): float(m.group("value")) for m in _FIELD.finditer(last.group("fields"))}
    init, invoke = _rapid_lines(log, last.group("id"), reports, last.start())
    return Report(
        request_id=last.group("id"),
        duration_ms=float(invoke.group("ms")) if invoke else fields.get("Duration", 0.0),
        billed_duration_ms=fields.get("Billed Duration", 0.0),
        memory_size_mb=int(fields.get("Memory Size", 0)),
        init_duration_ms=float(init.group("ms")) if init else None,
        max_memory_used_mb=None if peak_bytes is None else round(peak_bytes / 2**20, 1),
    )


def _rapid_lines(
    log: str, request_id: str, reports: list[re.Match[str]], report_at: int
) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The INIT REPORT and INVOKE RTDONE lines of the call `request_id`, whose REPORT line is at `report_at`.

    The emulator's own lines (START, END, REPORT: stdout) and rapid's (stderr) interleave, but rapid's are one stream,
    in order: a call's init is the INIT REPORT between the call before's INVOKE START and its own (a re-init after a
    reset runs inside the call, and may be written after its REPORT line), its RTDONE the one after its own INVOKE
    START and before the next call's.
    """
    own = re.search(rf"INVOKE START\(requestId: {re.escape(request_id)}\)", log)
    if own is None:  # no rapid line of its own: what precedes its REPORT line and no other call's REPORT
        before = log[max((m.end() for m in reports if m.start() < report_at), default=0) : report_at]
        init, invoke = list(_INIT.finditer(before)), list(_INVOKE.finditer(before))
        return (init[-1] if init else None), (invoke[-1] if invoke else None)
    starts = list(_INVOKE_START.finditer(log))
    since = max((m.end() for m in starts if m.end() <= own.start()), default=0)
    until = min((m.start() for m in starts if m.start() >= own.end()), default=len(log))
    init = list(_INIT.finditer(log, since, own.start()))
    return (init[-1] if init else None), _INVOKE.search(log, own.end(), until)


def first_request(log: str) -> str | None:
    """The request id of the first START line in `log`."""
    found = _START.search(log)
    return found.group("id") if found else None


def unreported_before_last(log: str) -> set[str]:
    """The request ids of the START lines in `log` that have no REPORT line, the last one's apart: calls that ended
    without one (the emulator writes none for a crash or a reset) before another began."""
    starts = [m.group("id") for m in _START.finditer(log)]
    reported = {m.group("id") for m in _REPORT.finditer(log)}
    return {request for request in starts[:-1] if request not in reported}


def init_pending(log: str) -> bool:
    """Whether an init in `log` has not reported yet: rapid writes a re-init's INIT REPORT (stderr) after the
    call's REPORT line (stdout) at times."""
    return len(_INIT_START.findall(log)) > len(_INIT.findall(log))


def init_duration(log: str) -> float | None:
    """The duration of the last init in `log` (the emulator's INIT REPORT line), in ms; None if it has none."""
    found = list(_INIT.finditer(log))
    return float(found[-1].group("ms")) if found else None


class MeasuredFunction(Protocol):
    """What a report is read from: the function's container, its log since a time and its cgroup's peak memory."""

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str: ...

    def peak_memory(self) -> int | None: ...


#: How long a report waits for the emulator's REPORT line of a call that has answered.
REPORT_WAIT = 2.0


class LazyReport:
    """The `Report` of one invocation, read from the container the first time an attribute is asked for."""

    def __init__(
        self,
        function: MeasuredFunction,
        since: float,
        *,
        init_duration_ms: float | None = None,
        previous_since: float | None = None,
    ) -> None:
        self._function = function
        self._since = since
        #: When the call before began: its START line may be read after this call began (a crashed call has no
        #: REPORT line to tell it by, and the engine stamps each line as it reads it), so it is told by its id.
        self._previous_since = previous_since
        #: The init that ran before this call, apart from it (`warmup`): the first call's report carries it.
        self._init_ms = init_duration_ms
        self._report: Report | None = None
        #: The call's timeout and memory size, when the plugin ended it at its timeout itself (`warmup.call_deadline`).
        self._ended_at: tuple[float, int] | None = None
        self._previous_before: str | None = None
        self._read = False
        self._superseded = False

    def supersede(self) -> float:
        """Another call began: the container's peak from now on is not this call's (cheap: only a flag). When this
        call began (the next call's report tells this call's lines by it)."""
        self._superseded = True
        return self._since

    def ended_at_timeout(self, timeout: float, memory_size_mb: int) -> None:
        """The plugin ended this call at the function's `timeout` (a function given room for a long init:
        `warmup.call_deadline`): the emulator, its runtime killed under it, writes no REPORT line, where Lambda's
        says the call ran its full timeout (`Duration: 3000.00 ms ... Status: timeout`); the report says so."""
        self._ended_at = (timeout * 1000, memory_size_mb)

    def resolve(self) -> Report | None:
        """The report (None if the emulator wrote none: the container died, say)."""
        if not self._read:
            peak = None if self._superseded else self._function.peak_memory()
            # The emulator writes its REPORT line just after it answers: read at once, it may not be there yet.
            deadline = time.monotonic() + REPORT_WAIT
            while True:
                log = self._function.logs(since=self._since)
                self._report = parse(log, peak_bytes=peak)
                if self._report is None:
                    self._report = parse(log, peak_bytes=peak, skip=self._previous_calls(log))
                # A re-init's INIT REPORT may come just after the REPORT line: waited for as that line is.
                if (self._report is not None and not init_pending(log)) or time.monotonic() > deadline:
                    break
                if self._report is None and self._ended_at is not None:  # none will come
                    ms, memory = self._ended_at
                    mb = None if peak is None else round(peak / 2**20, 1)
                    self._report = Report(first_request(log) or "", ms, ms, memory, None, max_memory_used_mb=mb)
                    break
                time.sleep(0.01)
            if self._report is not None and self._report.init_duration_ms is None and self._init_ms is not None:
                self._report = dataclasses.replace(self._report, init_duration_ms=self._init_ms)
            self._read = True
        return self._report

    def _previous_calls(self, log: str) -> set[str]:
        """The request ids of earlier calls whose START lines `log` (since this call began) holds: the call before's,
        where `log` begins with its START line, and any that ended with no REPORT line (a crash, a reset) before
        another began. The emulator's START, END and REPORT lines (stdout) can reach the engine in one piece, after
        the call answered, so a line's time stamp does not always tell whose call it is."""
        if self._previous_before is None and self._previous_since is not None:
            self._previous_before = first_request(self._function.logs(since=self._previous_since)) or ""
        skip = (
            {self._previous_before} if self._previous_before and self._previous_before == first_request(log) else set()
        )
        return skip if self._superseded else skip | unreported_before_last(log)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        report = self.resolve()
        if report is None:
            raise AttributeError(f"the emulator wrote no REPORT line for this invocation, so it has no {name}")
        return getattr(report, name)

    def __repr__(self) -> str:
        return f"<LazyReport {self.resolve() if self._read else '(not read yet)'}>"
