"""The runtime's own init, before the first test: once per container, off the function's timeout, with a CPU burst.

The emulator (classic mode) starts the runtime lazily, inside the first invocation, and gives the init and that
invocation one budget, AWS_LAMBDA_FUNCTION_TIMEOUT (aws-lambda-runtime-interface-emulator,
internal/lambda/rie/handlers.go: `InitHandler`, then `Invoke` under one timer). Lambda runs the init apart: up to
10 s, not counted against the function's timeout; an init that takes longer is retried at the first invocation under
the function's timeout (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).

So the runtime inits before any test: the plugin posts an event that is not JSON. The runtime starts and imports the
handler's module (its own init, the one every later call uses), then cannot unmarshal the event and answers
`Runtime.UnmarshalError` without calling the handler (awslambdaric's `bootstrap.handle_event_request`). That answer
is the start-up check: an init that fails says why in the runtime's own words (HTTP 502 and its error). The warm-up's
own lines are hidden from the container's log, and its INIT REPORT goes to the first call's report.

Where the function's timeout is shorter than the init, the emulator would end the init at it: the container is then
started again with room for the init (`LaunchPlan.with_init_room`), and the plugin ends each call at the function's
timeout itself (`Deadline`), killing the runtime as Lambda does; the emulator then inits again in the next call,
under the function's timeout, as Lambda re-inits after a timeout. The emulator tells the runtime a deadline of the
call's start plus its own budget, so the runtime moves it back to the function's timeout
(`inside.with_function_deadline`): `get_remaining_time_in_millis()` counts from the function's timeout, as on Lambda.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ..build.image_config import python_module_at
from ..config.defaults import EMULATOR_MARGIN, INIT_LIMIT, LOOPBACK_CONNECT
from ..errors import FunctionError, FunctionOutOfMemory, HandlerImportError, InvocationError, LambdaContainerError
from . import metrics, startup
from .docker import LOG_TAIL, DockerContainer, Log
from .launch import LaunchPlan
from .outcome import TIMEOUT_PREFIX, function_error, timeout_line
from .protocol import INVOKE_PATH

if TYPE_CHECKING:
    import httpx

#: The container's out-of-memory judge of an answer (`memwatch.OomWatch.over_memory`).
OverMemory = Callable[[str], "FunctionOutOfMemory | None"]
#: Not JSON: no runtime that unmarshals its events can call a handler with it.
WARM_UP_EVENT = b'{"pytest-lambda-container": "warm-up; not JSON, so the runtime calls no handler"'
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
#: The emulator's error for a runtime that exited (or was killed): not an answer of the init itself.
EXIT_ERROR = "Runtime.ExitError"


class Outcome(enum.Enum):
    """What the warm-up's answer says of the init."""

    READY = "ready"
    #: The emulator ended it at the function's timeout (shorter than the init): it needs room.
    TIMED_OUT = "timed out"
    #: The handler's module could not be loaded: the runtime's error.
    INIT_FAILED = "init failed"
    #: The runtime exited, or answered nothing the warm-up can read: the start-up check tells why.
    RUNTIME_FAILED = "runtime failed"
    #: Past `INIT_LIMIT`: killed; the first call inits again under the function's timeout, as on Lambda.
    OVER_LIMIT = "over the init limit"
    #: Past the function's memory: killed by the memory watch; the first call inits again, as on Lambda.
    OUT_OF_MEMORY = "out of memory"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    #: The warm-up's request id (its lines are hidden from the log).
    request_id: str = ""
    error: FunctionError | None = None
    answer: str = ""
    #: The init's duration, from the emulator's INIT REPORT line.
    init_ms: float | None = None


def verdict(status: int, text: str) -> Verdict:
    """What the emulator's answer to the warm-up says (pure)."""
    if text.startswith(TIMEOUT_PREFIX):
        return Verdict(Outcome.TIMED_OUT, answer=text)
    try:
        body = json.loads(text)
    except ValueError:
        return Verdict(Outcome.RUNTIME_FAILED, answer=text)
    error = function_error(body)
    request_id = str(body.get("requestId") or "") if isinstance(body, dict) else ""
    if error is None or error.error_type == UNMARSHAL_ERROR:
        return Verdict(Outcome.READY, request_id=request_id, answer=text)
    if error.error_type == EXIT_ERROR or status != 502:
        return Verdict(Outcome.RUNTIME_FAILED, request_id=request_id, error=error, answer=text)
    return Verdict(Outcome.INIT_FAILED, request_id=request_id, error=error, answer=text)


def surely_applies(plan: LaunchPlan) -> bool:
    """Whether the plan alone says that the warm-up applies (`applies`): awslambdaric in a custom image."""
    check = plan.startup_check
    return (
        check is not None
        and bool(check.handler)
        and not plan.image.runs_emulator
        and python_module_at(check.command, "awslambdaric") is not None
    )


def start_vcpus(plan: LaunchPlan) -> float | None:
    """The CPU a container of `plan` is created with when its warm-up surely follows: the init's burst, so that the
    warm-up need not raise it first (issue 17: an engine call less before the init). None: Lambda's share."""
    limits = plan.sandbox if plan.sandbox is not None and plan.sandbox.enabled else None
    return limits.burst_vcpus if limits is not None and surely_applies(plan) else None


def applies(plan: LaunchPlan, current: DockerContainer) -> bool:
    """Whether the runtime is one that rejects a non-JSON event without calling the handler: awslambdaric, in a
    custom image or as the Python runtime of an AWS base image (another language's may hand raw bytes to it)."""
    check = plan.startup_check
    if check is None or not check.handler:
        return False
    if not plan.image.runs_emulator:
        return surely_applies(plan)
    try:
        code, _ = current.exec(("/var/lang/bin/python3", "-S", "-c", ""), workdir="/", environment={})
    except LambdaContainerError:
        return False
    return code == 0


class Deadline:
    """Calls `kill` `seconds` after entering, unless left first (None: never); `fired` says whether it did."""

    def __init__(self, seconds: float | None, kill: Callable[[], object]) -> None:
        self.fired = False
        self._kill = kill
        self._timer = threading.Timer(seconds, self._fire) if seconds is not None else None

    def _fire(self) -> None:
        self.fired = True
        self._kill()

    def __enter__(self) -> Deadline:
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._timer is not None:
            self._timer.cancel()


def call_deadline(plan: LaunchPlan, current: DockerContainer | None) -> Deadline:
    """The deadline of one call: none where the emulator keeps the function's timeout itself."""
    kept_by_emulator = plan.emulator_timeout <= plan.timeout or current is None
    return Deadline(None if kept_by_emulator else plan.timeout, current.kill_runtime if current else lambda: None)


def timed_out_answer(timeout: float) -> httpx.Response:
    """The answer the emulator gives a call that ran past the function's timeout, in Lambda's words."""
    import httpx  # as the caller's client has it (a module imported anew, as pytester's runs do, is another)

    return httpx.Response(200, text=timeout_line(timeout))


def warm_up(
    current: DockerContainer, http: httpx.Client, plan: LaunchPlan, log: Log, over_memory: OverMemory | None = None
) -> Verdict:
    """Have the runtime init, with a CPU burst under the sandbox, for at most `INIT_LIMIT` seconds; `over_memory`
    (the container's `OomWatch.over_memory`) tells an init that the memory watch stopped."""
    import httpx  # as `http` has it (see timed_out_answer)

    limits = plan.sandbox if plan.sandbox is not None and plan.sandbox.enabled else None
    started_with_it = limits is not None and current.vcpus_at_start == limits.burst_vcpus
    burst = limits is not None and (started_with_it or current.update_cpus(limits.burst_vcpus))
    since = time.time()
    try:
        with Deadline(INIT_LIMIT, current.kill_runtime) as limit:
            # The emulator's own budget bounds it too; the margin is for a runtime that cannot be killed from here.
            wait = httpx.Timeout(max(INIT_LIMIT, plan.emulator_timeout) + EMULATOR_MARGIN, connect=LOOPBACK_CONNECT)
            response = http.post(INVOKE_PATH, content=WARM_UP_EVENT, timeout=wait)
    except httpx.TransportError as exc:
        if not limit.fired:
            return Verdict(Outcome.RUNTIME_FAILED, answer=f"{type(exc).__name__}: {exc}")
        # Ended at the limit by the plugin: the emulator, its runtime killed under it, may drop the connection rather
        # than answer (seen under CI's load: its `trySendDefaultErrorResponse` panics, ErrInvalidInvokeID).
    finally:
        if burst and limits is not None and not current.update_cpus(limits.vcpus):
            log(f"could not set {current.name}'s CPU back to {limits.vcpus:.2f} vCPU after its init: calls run faster")
    if limit.fired:
        log(
            f"the init of {plan.startup_check.handler if plan.startup_check else 'the function'} took over "
            f"{INIT_LIMIT:g}s, Lambda's limit: as on Lambda, the first call inits it again under the function's timeout"
        )
        return Verdict(Outcome.OVER_LIMIT)
    found = verdict(response.status_code, response.text)
    stopped = over_memory(response.text) if over_memory and found.outcome is Outcome.RUNTIME_FAILED else None
    if stopped is not None:
        # As the host's watch, which watches calls only, lets such an init through: the calls say it, each.
        handler = plan.startup_check.handler if plan.startup_check else "the function"
        said = stopped.error_message.splitlines()[0]
        log(f"the init of {handler}: {said} The first call inits it again, as on Lambda")
        return Verdict(Outcome.OUT_OF_MEMORY)
    init_ms = _init_ms(current, since) if found.outcome is Outcome.READY else None
    return Verdict(found.outcome, found.request_id, found.error, found.answer, init_ms)


def _init_ms(current: DockerContainer, since: float) -> float | None:
    """The init's duration from its INIT REPORT line: the emulator wrote it before the answer, but the engine's log
    may show it a moment later (a busy machine), so it is waited for as a call's REPORT line is."""
    deadline = time.monotonic() + metrics.REPORT_WAIT
    while (found := metrics.init_duration(current.logs(since=since))) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def init_error(found: Verdict, plan: LaunchPlan) -> HandlerImportError | None:
    """The error an init that failed stands for, in the runtime's words, naming the handler and the image."""
    if found.outcome is not Outcome.INIT_FAILED or found.error is None:
        return None
    handler = plan.startup_check.handler if plan.startup_check else "?"
    return HandlerImportError(
        found.error.error_type,
        f"{found.error.error_message} (the init of handler {handler!r} of {plan.image.ref} failed; the runtime "
        "would fail every invoke)",
        found.error.stack_trace,
        payload=found.error.payload,
    )


def start_up(
    current: DockerContainer,
    http: httpx.Client,
    plan: LaunchPlan,
    log: Log,
    relaunch: Callable[[LaunchPlan], DockerContainer],
    over_memory: OverMemory | None = None,
) -> float | None:
    """Have the runtime init where it takes a warm-up: again in a new container of `relaunch` with room for the init
    where the emulator ended it at a shorter function timeout (`relaunch` keeps the function's deadline there:
    `inside.with_function_deadline`). The init's duration (None: it runs in the first call).

    An init that failed, a runtime that could not run, or one that takes no warm-up is checked without invoking
    (`startup`): `RuntimeUnavailable`, or `HandlerImportError` in the runtime's words with the user's frames (the
    runtime's own answer to a failed import has none); where the check cannot tell, the runtime's answer is raised.
    The session's setup fails, not every test.
    """
    found = None
    if applies(plan, current):
        found = warm_up(current, http, plan, log, over_memory)
        if found.outcome is Outcome.TIMED_OUT:
            plan = plan.with_init_room(INIT_LIMIT)
            current = relaunch(plan)
            found = warm_up(current, http, plan, log, over_memory)
        if found.outcome in (Outcome.READY, Outcome.OVER_LIMIT, Outcome.OUT_OF_MEMORY):
            current.hidden_request, current.init_ms = found.request_id, found.init_ms
            return found.init_ms
    check, limit = plan.startup_check, min(plan.timeout, startup.CHECK_LIMIT)
    error = startup.run(current, check, plan.image.ref, limit=limit, log=log) if check else None
    if error is not None and found is not None:
        raise error  # the check's output says it all: the failed init's log would only say it again
    if error is None and found is not None:  # the check could not tell: the runtime's own answer
        error = (
            init_error(found, plan)
            or found.error
            or InvocationError(f"the runtime failed its init: {found.answer[:500]!r}")
        )
    # A runtime that never ran left nothing in the log: the cause is in the message.
    if isinstance(error, InvocationError):
        raise _with_logs(error, current)
    if error is not None:
        raise error
    return None


def _with_logs(error: LambdaContainerError, current: DockerContainer) -> LambdaContainerError:
    error.logs, error.container = current.logs(tail=LOG_TAIL), current.name
    return error
