"""The function handle that tests and transports hold: one call at a time, a payload limit, restart on death (its
container's life, launched and replaced in place: lifecycle.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ..build.image import ImageInfo
from ..config.defaults import DEFAULT_PORT, EMULATOR_MARGIN, LOOPBACK_CONNECT, RESET_PAUSE, RESET_RETRIES
from ..engine import hygiene
from ..engine.client import Engine
from ..errors import ContainerError, FunctionError, HandlerImportError, InvocationError
from . import memwatch, metrics, outcome, sandbox, warmup
from .docker import LOG_TAIL, DockerContainer, Log
from .launch import LaunchPlan
from .lifecycle import ContainerLife
from .lifecycle import State as State
from .protocol import INVOKE_HEADERS, INVOKE_PATH, caller_headers, check_payload, encode_event


class LambdaContainer(ContainerLife):
    """A function running under the emulator. `invoke_event` posts one event at a time; `logs()` reads its output.

    If the container dies, the call in flight fails with `ContainerExited`, and the next call starts a fresh
    container in its place: the object, and every client built on it, stays valid.
    """

    def __init__(self, engine: Engine, plan: LaunchPlan, *, ready_timeout: float = 30.0, log: Log | None = None):
        self.engine = engine
        self.plan = plan
        self.ready_timeout = ready_timeout
        self.log: Log = log or hygiene.warn
        self.state = State.STARTING
        self.invocations = 0
        self.restarts = 0
        self._oom = memwatch.OomWatch()
        # Per thread: what a thread reads is the report of its own last call, whatever other threads invoke.
        self._reports = threading.local()
        self._latest: metrics.LazyReport | None = None
        # Calls are serialized: the emulator crashes on a second concurrent one.
        self._lock = threading.RLock()
        self._http = None

    def _new_client(self) -> httpx.Client:
        # One keep-alive connection serves every call; never through a proxy: a user's HTTP_PROXY must not catch them.
        # Plain HTTP to the emulator: `verify=False` only spares loading a CA bundle no call uses (~0.08 s a client).
        return httpx.Client(
            trust_env=False,
            verify=False,
            timeout=httpx.Timeout(self.plan.timeout + EMULATOR_MARGIN, connect=LOOPBACK_CONNECT),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    @classmethod
    def start(
        cls,
        engine: Engine,
        plan: LaunchPlan,
        *,
        port: int = DEFAULT_PORT,
        ready_timeout: float = 30.0,
        log: Log | None = None,
        check_startup: bool = True,
    ) -> LambdaContainer:
        """Run `plan` on `port` (0: any free port; published where `plan.reach` says), wait until the emulator
        answers, and check that the runtime can start and the handler loads (`check_startup`)."""
        self = cls(engine, plan, ready_timeout=ready_timeout, log=log)
        try:
            # With the init's burst from the start where the warm-up surely follows: one engine call less before it.
            self._launch(port, vcpus=warmup.start_vcpus(plan) if check_startup else None)
            if check_startup:
                self.check_startup()
        except BaseException:
            self.remove()
            raise
        return self

    # -- what tests read --------------------------------------------------------------------------------------

    @property
    def image(self) -> ImageInfo:
        """The image the container runs."""
        return self.plan.image

    @property
    def timeout(self) -> float:
        return self.plan.timeout

    def __repr__(self) -> str:
        return f"<LambdaContainer {self.name} {self.image.ref} at {self.url} ({self.state.value})>"

    @property
    def last_report(self) -> metrics.LazyReport | None:
        """This thread's last invocation's figures (Lambda's REPORT line, real peak memory), read when first asked."""
        return getattr(self._reports, "last", None)

    @property
    def latest_report(self) -> metrics.LazyReport | None:
        """The last invocation's report, whichever thread made it: a test's log is told from the calls before by it."""
        return self._latest

    # -- life: started or adopted here; revived, removed or released by ContainerLife (lifecycle.py) ----------

    @classmethod
    def adopt(cls, engine: Engine, current: DockerContainer, *, log: Log | None = None) -> LambdaContainer:
        """Serve from `current`, a container an earlier run started and left running (`--lambda-reuse`): no start,
        no start-up check, and its runtime as that run left it (warm, if it was invoked)."""
        self = cls(engine, current.plan, log=log)
        self._serve(current)
        return self

    # -- invoking ---------------------------------------------------------------------------------------------

    def invoke_raw(
        self, payload: bytes, *, timeout: float | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST a serialized event to the emulator: one call at a time, since a second concurrent one crashes it.
        `timeout`: give up after so many seconds (`CallerTimeout`); the emulator stays busy, so
        the next call gets a fresh container, as Lambda's next request gets another sandbox while that one runs on."""
        check_payload(payload)
        with self._lock:
            self._check_open()
            if self.state is State.DEAD:
                self._revive()
            self.invocations += 1
            if self._current is not None:  # nothing is read now: the hot path stays a POST
                previous = self._latest.supersede() if self._latest is not None else None
                report = metrics.LazyReport(
                    self._current, time.time(), init_duration_ms=self._current.take_init_ms(), previous_since=previous
                )
                self._latest = self._reports.last = report
            deadline = warmup.call_deadline(self.plan, self._current)
            try:
                with self._oom.watching(), deadline:
                    limit = self.plan.emulator_timeout + EMULATOR_MARGIN if timeout is None else timeout
                    wait = httpx.Timeout(limit, connect=LOOPBACK_CONNECT)
                    sent = {**INVOKE_HEADERS, **(headers or {})}
                    response = self._served().post(INVOKE_PATH, content=payload, headers=sent, timeout=wait)
                return self._ended_at_timeout() if deadline.fired else response
            except httpx.TransportError as exc:
                if deadline.fired:  # the plugin ended it at the timeout, and the emulator dropped the call it was in
                    return self._ended_at_timeout()
                if isinstance(exc, httpx.TimeoutException):
                    # Past the function timeout and then some, or past the caller's: the emulator is stuck, or
                    # still busy (a second call would crash it). The next call gets a fresh container.
                    self.state = State.DEAD
                    if timeout is not None and isinstance(exc, httpx.ReadTimeout):
                        then = "the emulator is still busy with it, so the next call gets a fresh container"
                        raise outcome.caller_timeout(timeout, timeout=self.timeout, then=then) from None
                else:
                    # A dropped connection usually means the container is dying, but the engine may still
                    # report it running for a moment: wait for its state, so this call reports the death and
                    # the next one gets a fresh container, rather than two calls failing.
                    self._raise_if_exited("died during an invocation", within=3.0)
                error = ContainerError(f"invoking {self.name} at {self.url} failed: {type(exc).__name__}: {exc}")
                # The message names httpx's error; its traceback (httpx's frames) would only bury the user's line.
                raise self._with_logs(error) from None

    def _ended_at_timeout(self) -> httpx.Response:
        """The answer to a call the plugin ended at the function's timeout (`warmup.call_deadline`); its report says
        it ran its full timeout."""
        if self._latest is not None:
            memory = self.plan.environment.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(sandbox.DEFAULT_MEMORY))
            self._latest.ended_at_timeout(self.timeout, int(memory))
        return warmup.timed_out_answer(self.timeout)

    def invoke_event(
        self,
        event: Any,
        *,
        timeout: float | None = None,
        tenant_id: str | None = None,
        client_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Invoke the function with `event` (any JSON value); its result, or an `InvocationError`. `timeout`: stop
        waiting after so many seconds (`CallerTimeout`; see `invoke_raw`). `tenant_id`, `client_context`: what the
        caller sends (`context.tenant_id`, `context.client_context`), as the emulator's headers."""
        payload = encode_event(event)
        headers = caller_headers(tenant_id=tenant_id, client_context=client_context)
        # Decoded under the lock too: telling a dead container from a live one must not race with a restart.
        with self._lock:
            began, told = time.time(), set[str]()
            response = self.invoke_raw(payload, timeout=timeout, headers=headers)
            for _ in range(RESET_RETRIES):
                if not self._refused(response, began, told):
                    break
                # The emulator refused the call while it still reset the runtime after a timeout or a crash: the
                # function never saw the event, so it goes again once the reset has had a moment.
                time.sleep(RESET_PAUSE)
                began = time.time()
                response = self.invoke_raw(payload, timeout=timeout, headers=headers)
            over = self._oom.over_memory(response.text)
            if over is not None:  # killed for memory, or (where it could not be) past it all the same
                raise over from None
            try:
                return outcome.decode_answer(
                    response.status_code, response.text, response.headers, timeout=self.timeout
                )
            except InvocationError as exc:
                if not response.text.strip():
                    self._raise_if_exited("died during an invocation")
                # The runtime's own failures (no answer, not JSON, a handler that cannot load) come with the log;
                # the handler's errors and timeouts carry what the function said.
                if isinstance(exc, FunctionError):
                    exc = self._as_lambda_reports_it(exc)
                if type(exc) is InvocationError or isinstance(exc, HandlerImportError):
                    raise self._with_logs(exc) from None
                raise exc from None

    def _refused(self, response: httpx.Response, began: float, told: set[str]) -> bool:
        """Whether the emulator refused the call that `began` then while it reset the runtime: said in its answer
        (`outcome.canceled_by_a_reset`), or, for an empty 502, in its log only (`outcome.refused_in_log`), waited for
        as a REPORT line is. `told`: the request ids of the refusals before, which it grows."""
        if outcome.canceled_by_a_reset(response.text):
            told.add(outcome.refused_request(response.text) or "")
            return True
        if response.status_code != 502 or response.text.strip() or self._current is None:
            return False
        deadline = time.monotonic() + metrics.REPORT_WAIT
        while (found := outcome.refused_in_log(self._current.logs(since=began), told=told)) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        told.add(found[1])
        return found[0]

    def _as_lambda_reports_it(self, error: FunctionError) -> InvocationError:
        """A function error as Lambda reports it: a kill for memory read from the cgroup's OOM count, the sandbox as
        the likely cause of an EROFS or EACCES error."""
        current, limits = self._current, self.plan.sandbox if self.plan.sandbox and self.plan.sandbox.enabled else None
        return outcome.as_lambda_reports_it(
            error,
            timeout=self.timeout,
            oom_killed=(lambda: self._oom.killed_for_memory(current, error)) if current is not None else None,
            memory=limits.memory if limits else None,
            explain=sandbox.explain if limits else None,
        )

    def _with_logs(self, error: InvocationError | ContainerError) -> InvocationError | ContainerError:
        error.logs = self.logs(tail=LOG_TAIL)
        error.container = self.name
        return error
