"""The inprocess target: the handler imported into the test process and called behind the same `invoke_event`
contract as a container — events and results through JSON as on the wire, Lambda's 6 MB limits, a context object,
the function's environment seen by the function only (`lambda_context`), and its timeout enforced without signals.

Each function has one worker thread, where its module is imported and each call runs: a call past its time fails
with `FunctionTimeout` while its thread runs on (a thread cannot be stopped), and the function refuses further calls,
as a Lambda environment would be replaced. A call cut short by its caller (`timeout=`, `CallerTimeout`) leaves
the function busy; the next call waits for it, as a busy Lambda environment takes no second call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..build.handler_location import HandlerLocation, locate
from ..build.requirements import pip_installs
from ..config.defaults import DEFAULT_TIMEOUT
from ..config.function import FunctionSpec, ResolvedFunction
from ..container import outcome
from ..container.protocol import encode_event
from ..errors import FunctionError, FunctionTimeout, HandlerImportError, InvocationError, not_on_target
from . import context as lambda_context
from . import workdir
from .context import FUNCTION_ENV, LambdaContext, context_for
from .imports import FUNCTION_MODULES, user_stack
from .imports import import_handler as import_modules
from .marshal import marshal
from .thread import FunctionThread

if TYPE_CHECKING:
    from ..config.settings import Settings

Handler = Callable[[Any, Any], Any]


def _ensure_event_loop() -> None:
    # Mangum drives the app with asyncio.get_event_loop(): a worker thread has none, and an async test framework may
    # have closed the main thread's. The Lambda runtime always has one.
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


class InProcessFunction:
    """`handler(event, context)` called in this process, in the function's own worker thread, with `env` seen by the
    function only; `timeout` in seconds."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        loader: Callable[[], Handler] | None = None,
        name: str = "handler",
        task_root: Path | None = None,
    ) -> None:
        self.env = dict(env or {})
        #: The working directory of the import and every call (`workdir`); None: the process's, untouched.
        self.task_root = task_root
        self.timeout = timeout
        self.name = name
        #: Lambda's figures are a container's: there is no report in-process.
        self.last_report = None
        self.invocations = 0
        self._broken: str | None = None
        self._closed = False
        self._busy: tuple[concurrent.futures.Future[Any], float] | None = None
        self._lock = threading.Lock()
        if self.env:
            lambda_context.install()
        self._worker = FunctionThread(self._enter)
        if handler is None:
            if loader is None:
                raise TypeError("give a handler or a loader")
            try:
                with workdir.task_root(task_root):
                    handler = self._worker.submit(loader).result()
            except BaseException:
                self._worker.shutdown()
                raise
        self.handler = handler

    def __repr__(self) -> str:
        return f"<InProcessFunction {self.name}>"

    def _enter(self) -> None:
        # The worker thread's context: the function's variables, for its import and every call.
        FUNCTION_ENV.set(self.env if self.env else None)
        workdir.enter_function()

    def invoke_event(
        self,
        event: Any,
        *,
        timeout: float | None = None,
        tenant_id: str | None = None,
        client_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call the handler with `event`; its result, or the `InvocationError` Lambda would give. `timeout`: give up
        waiting sooner (an API Gateway integration timeout), leaving the call to finish. `tenant_id` and
        `client_context`: what the caller sends, as `context.tenant_id` and `context.client_context`."""
        payload = encode_event(event)  # PayloadTooLarge before the handler runs, as on Lambda
        with self._lock:
            self._wait_for_the_last_call()
            wire_event = json.loads(payload)
            context = context_for(self.env, self.timeout, tenant_id=tenant_id, client_context=client_context)
            wait = self.timeout if timeout is None else min(timeout, self.timeout)
            try:
                with workdir.task_root(self.task_root):
                    future = self._worker.submit(lambda: self._call(wire_event, context))
                    self.invocations += 1
                    result = future.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                if timeout is not None and timeout < self.timeout:
                    self._busy = (future, context.deadline)
                    then = "the call runs on, and the next one waits for it"
                    raise outcome.caller_timeout(timeout, timeout=self.timeout, then=then) from None
                raise self._timed_out() from None
        return result

    def _wait_for_the_last_call(self) -> None:
        if self._closed:
            raise InvocationError(f"{self.name} was closed (its session ended): it takes no more calls")
        if self._broken is not None:
            raise InvocationError(self._broken)
        if self._busy is None:
            return
        future, deadline = self._busy
        self._busy = None
        try:
            future.exception(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            raise self._timed_out() from None

    def _timed_out(self) -> FunctionTimeout:
        self._broken = (
            f"{self.name} timed out in an earlier call, and its thread still runs (a thread cannot be stopped): "
            "the in-process function takes no more calls. Fix the slow call, or use the container target"
        )
        return outcome.timed_out(outcome.timeout_line(self.timeout), timeout=self.timeout)

    def _call(self, event: Any, context: LambdaContext) -> Any:
        _ensure_event_loop()
        try:
            result = self.handler(event, context)
        except Exception as exc:
            raise FunctionError(type(exc).__name__, str(exc), user_stack(exc.__traceback__)) from exc
        finally:
            modules = FUNCTION_MODULES.get()
            if modules is not None:
                modules.collect()
        wire = marshal(result, self.env)
        # Read back as the container's answer is read: raw bytes that are not JSON fail alike on both targets.
        return outcome.decode_answer(200, wire.decode("utf-8", errors="replace"), {}, timeout=self.timeout)

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """A container's log: there is none in-process."""
        raise not_on_target("logs() needs a container; the target is inprocess", target="inprocess")

    def ensure_running(self) -> None:
        """Restarts are a container's."""
        raise not_on_target("restarting needs a container; the target is inprocess", target="inprocess")

    def close(self) -> None:
        """Let the worker thread go (a call still running finishes on its own); later calls are refused."""
        self._closed = True
        self._worker.shutdown()


def load(settings: Settings, spec: FunctionSpec | ResolvedFunction) -> InProcessFunction:
    """The function of `spec` on the inprocess target: its handler imported, its environment its own (the same
    `ResolvedFunction` a container runs, so the same handler, variables and timeout)."""
    fn = spec.resolve(settings) if isinstance(spec, FunctionSpec) else spec
    location = locate(
        fn.dockerfile,
        fn.context,
        handler=fn.handler,
        import_root=settings.source,
        build_args=dict(fn.build_args),
    )
    task_root = location.folder.resolve()
    return InProcessFunction(
        env=fn.environment(task_root=str(task_root), handler=location.handler),
        timeout=fn.timeout,
        loader=lambda: import_handler(location, dockerfile=fn.dockerfile, context=fn.context),
        name=location.handler,
        task_root=task_root,
    )


def import_handler(
    location: HandlerLocation, *, dockerfile: Path | None = None, context: Path | None = None
) -> Handler:
    """The handler at `location`, imported apart from the tests' modules (`function_import`); call it in the function's
    thread, which from then on finds the function's own modules. A module the test environment lacks is named with
    what installs it (what `dockerfile` pip-installs)."""
    try:
        modules, handler = import_modules(location)
    except HandlerImportError as exc:
        missing = exc.__cause__
        if not isinstance(missing, ModuleNotFoundError) or not missing.name:
            raise
        hint = missing_module_hint(missing.name, dockerfile, context or location.folder)
        raise HandlerImportError(exc.error_type, f"{exc.error_message}\n{hint}", exc.stack_trace) from missing
    FUNCTION_MODULES.set(modules)
    return handler


def missing_module_hint(module: str, dockerfile: Path | None, context: Path) -> str:
    """What to do about a module the handler imports and the test environment lacks: in-process, the handler runs in
    this Python, so what the image installs must be installed here too."""
    where = f"In-process, the handler is imported by the tests' own Python ({sys.executable}), which has no {module!r}"
    installs = pip_installs(dockerfile, context) if dockerfile is not None else None
    if installs is None:
        return (
            f"{where}: install the function's dependencies into it (python -m pip install ...), or run the image "
            "with --lambda-target container"
        )
    return f"{where}: install what the image installs ({installs.run}) there too: {installs.command(Path.cwd())}"
