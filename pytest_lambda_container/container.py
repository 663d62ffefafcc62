"""One function container under aws-lambda-rie: started, labelled, made ready, invoked one call at a time, removed."""

from __future__ import annotations

import atexit
import json
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import httpx
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from .engine import ENGINE_ERRORS, Engine, short_error
from .errors import (
    ContainerError,
    ContainerExited,
    ContainerNotReady,
    FunctionError,
    FunctionTimeout,
    HandlerImportError,
    InvocationError,
    PayloadTooLarge,
)
from .image import ImageInfo

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
#: The most the handler check may take before the session goes on without it.
HANDLER_CHECK_LIMIT = 60.0
CONTAINER_PORT = "8080/tcp"
RIE_MOUNT = "/aws-lambda/aws-lambda-rie"
#: Lambda's limit on a synchronous invocation's request payload.
MAX_PAYLOAD = 6 * 1024 * 1024

LABEL = "pytest-lambda-container"
LABEL_SESSION = f"{LABEL}.session"
LABEL_PID = f"{LABEL}.pid"
LABEL_HOST = f"{LABEL}.host"
#: Set on containers kept for debugging (--lambda-keep): the orphan sweep leaves them alone.
LABEL_KEEP = f"{LABEL}.keep"

#: Errors by which the runtime says it could not load the handler at all.
IMPORT_ERRORS = (
    "Runtime.ImportModuleError",
    "Runtime.HandlerNotFound",
    "Runtime.MalformedHandlerName",
    "Runtime.UserCodeSyntaxError",
)
# Loads the handler the way the Python runtime does (module path, then the attribute), without invoking it.
HANDLER_CHECK = r"""
import importlib, os, sys, traceback
handler = sys.argv[1]
module_name, _, function = handler.rpartition(".")
if not module_name or not function:
    print(f"Runtime.MalformedHandlerName: Bad handler '{handler}': not enough values to unpack"); sys.exit(3)
sys.path.insert(0, os.getcwd())
try:
    module = importlib.import_module(module_name.replace("/", "."))
except Exception as exc:
    traceback.print_exc(file=sys.stdout)  # one stream: the verdict below must come out last
    print(f"Runtime.ImportModuleError: Unable to import module '{module_name}': {exc}"); sys.exit(3)
if not hasattr(module, function):
    print(f"Runtime.HandlerNotFound: Handler '{function}' missing on module '{module_name}'"); sys.exit(3)
"""
_ERROR_KEYS = {"errorType", "errorMessage", "stackTrace", "requestId", "cause"}

# Containers this process started and has not removed yet: removed at exit whatever path exit takes.
_LIVE: dict[str, LambdaContainer] = {}
_LIVE_LOCK = threading.Lock()


def new_session_id() -> str:
    """An id for one test session, stored in its containers' labels."""
    return uuid.uuid4().hex[:12]


def session_labels(session_id: str) -> dict[str, str]:
    """Labels that mark a container as ours, and whose (this session, this process, this host)."""
    return {LABEL: "1", LABEL_SESSION: session_id, LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname()}


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Connections of an earlier container linger in TIME_WAIT on the port; they don't make it busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def handler_check_command(image: ImageInfo, command: list[str]) -> tuple[list[str], str] | None:
    """`(argv, workdir)` that imports the handler inside the container, or None when the runtime is not one we know.

    Only Python runtimes we can see into: `python -m awslambdaric HANDLER`, or the AWS base image's bootstrap.
    """
    if image.runs_emulator and command:
        task_root = image.env.get("LAMBDA_TASK_ROOT", "/var/task")
        return ["/var/lang/bin/python3", "-c", HANDLER_CHECK, command[0]], task_root
    i = _awslambdaric_at(command)
    if i is not None and i + 2 < len(command):
        return [command[i - 1], "-c", HANDLER_CHECK, command[i + 2]], image.workdir or "/"
    return None


def _awslambdaric_at(command: list[str]) -> int | None:
    """Where `-m awslambdaric` starts in `PYTHON -m awslambdaric HANDLER`, or None."""
    for i in range(1, len(command) - 1):
        if command[i : i + 2] == ["-m", "awslambdaric"] and "python" in os.path.basename(command[i - 1]):
            return i
    return None


def emulator_command(image: ImageInfo, handler: str | None) -> tuple[list[str] | None, list[str]]:
    """`(entrypoint, command)` to run `image` under the emulator; entrypoint None keeps the image's own.

    AWS base images start the emulator from their entrypoint; any other image gets the mounted emulator as
    entrypoint, with the image's ENTRYPOINT + CMD (or handler) as the runtime command it starts, exactly as
    `docker run --entrypoint /aws-lambda/aws-lambda-rie IMAGE python -m awslambdaric app.handler` does.
    """
    args = [handler] if handler else list(image.cmd)
    if image.runs_emulator:
        return None, args
    entrypoint = list(image.entrypoint)
    i = _awslambdaric_at(entrypoint)
    j = _awslambdaric_at(list(image.cmd))
    if handler and not image.cmd and i is not None and i + 2 < len(entrypoint):
        # ENTRYPOINT ["python", "-m", "awslambdaric", "app.handler"] and no CMD: the handler is in the entrypoint.
        entrypoint[i + 2] = handler
        args = []
    elif handler and not entrypoint and j is not None and j + 2 < len(image.cmd):
        # CMD ["python", "-m", "awslambdaric", "app.handler"] and no ENTRYPOINT: the handler is at CMD's end.
        args = [*image.cmd[: j + 2], handler, *image.cmd[j + 3 :]]
    command = [*entrypoint, *args]
    if not command:
        raise ContainerError(
            f"image {image.ref} has neither ENTRYPOINT nor CMD, so there is no runtime to start; give it "
            'ENTRYPOINT ["python", "-m", "awslambdaric"] and CMD ["app.handler"], or pass --lambda-handler'
        )
    return [RIE_MOUNT], command


class LambdaContainer:
    """A running function container. `invoke_event` posts one event at a time; `logs()` reads its output.

    If the container dies, the call in flight fails with `ContainerExited`, and the next call starts a fresh
    container in its place: the object, and every client built on it, stays valid.
    """

    def __init__(
        self, engine: Engine, image: ImageInfo, options: dict[str, Any], *, timeout: float, ready_timeout: float
    ) -> None:
        self.engine = engine
        self.image = image
        self.timeout = timeout
        self.ready_timeout = ready_timeout
        self.options = options
        self.container: Container | None = None
        self.port = 0
        self.url = ""
        self.invocations = 0
        self.restarts = 0
        self.log: Callable[[str], None] = _stderr
        self._dead = False
        self._closed = False
        self._lock = threading.RLock()
        # One keep-alive connection serves every call; the emulator serves one at a time anyway.
        self._http = httpx.Client(
            # Loopback, always: a user's HTTP_PROXY must not catch calls to the container.
            trust_env=False,
            timeout=httpx.Timeout(timeout + 10.0, connect=5.0),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    @property
    def id(self) -> str:
        return (self.container.id if self.container else "") or ""

    @property
    def name(self) -> str:
        return (self.container.name if self.container else "") or ""

    def __repr__(self) -> str:
        return f"<LambdaContainer {self.name} {self.image.ref} at {self.url}>"

    # -- starting -------------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        engine: Engine,
        image: ImageInfo,
        *,
        rie_path: Path | None = None,
        port: int = 9000,
        env: Mapping[str, str] | None = None,
        handler: str | None = None,
        timeout: float = 300.0,
        session_id: str = "",
        ready_timeout: float = 30.0,
        log: Callable[[str], None] | None = None,
        check_handler: bool = True,
        keep: bool = False,
    ) -> LambdaContainer:
        """Run `image` under the emulator on 127.0.0.1:`port` (0: any free port) and wait until it answers."""
        say = log or (lambda _line: None)
        entrypoint, command = emulator_command(image, handler)
        if entrypoint is not None and rie_path is None:
            raise ContainerError(f"image {image.ref} does not run the emulator itself, and no aws-lambda-rie was given")
        environment = {
            # Lambda always sets the region; the emulator reads the function timeout from here (whole seconds).
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(max(1, math.ceil(timeout))),
            **(env or {}),
        }
        options: dict[str, Any] = {
            "detach": True,
            "command": command,
            "environment": environment,
            "labels": {**session_labels(session_id or new_session_id()), **({LABEL_KEEP: "1"} if keep else {})},
            **engine.run_options(),
        }
        if entrypoint is not None:
            options["entrypoint"] = entrypoint
            options["volumes"] = {str(rie_path): {"bind": RIE_MOUNT, "mode": "ro"}}
        self = cls(engine, image, options, timeout=timeout, ready_timeout=ready_timeout)
        if log is not None:
            self.log = log
        if port and not port_is_free(port):
            say(f"port {port} on 127.0.0.1 is busy; publishing the emulator on a free port instead")
            port = 0
        try:
            self._launch_on(port)
        except BaseException:
            self._http.close()
            raise
        if check_handler:
            try:
                self.check_handler(handler)
            except BaseException:
                self.remove()
                raise
        return self

    def check_handler(self, handler: str | None = None) -> None:
        """Load the handler in the container without invoking it; `HandlerImportError` if it cannot be loaded.

        The emulator only loads the handler on the first invoke: this makes a bad handler name or a module that
        fails to import fail the session's setup, with the runtime's own words, instead of the first test.
        """
        entrypoint, command = emulator_command(self.image, handler)
        check = handler_check_command(self.image, command)
        container = self.container
        if check is None or container is None:
            return
        argv, workdir = check
        environment = (
            {"PYTHONPATH": self.image.env.get("LAMBDA_RUNTIME_DIR", "/var/runtime")} if entrypoint is None else {}
        )
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append(container.exec_run(argv, workdir=workdir, environment=environment))
            except ENGINE_ERRORS:
                pass

        # Bounded: a module that takes minutes to import must not hold the session without a word.
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        limit = min(self.timeout, HANDLER_CHECK_LIMIT)
        worker.join(5.0)
        if worker.is_alive():
            self.log(f"loading handler {argv[-1]} in {self.name} to check it: still importing after 5s...")
        worker.join(max(0.0, limit - 5.0))
        if not outcome:
            if worker.is_alive():
                self.log(
                    f"handler {argv[-1]} still loading after {limit:g}s; going on "
                    "without the check (the first invoke loads it, within the function timeout)"
                )
            return
        code, output = outcome[0]
        text = cast(bytes, output or b"").decode("utf-8", "replace").strip()
        if code == 3:
            last = text.splitlines()[-1] if text else "Runtime.ImportModuleError: unknown"
            error_type, _, message = last.partition(": ")
            raise HandlerImportError(
                error_type,
                f"{message} (handler {argv[-1]!r} of {self.image.ref}; the runtime would fail every invoke)",
                text.splitlines()[:-1],
                logs=self.logs(tail=30),
            )

    def _launch_on(self, port: int) -> None:
        """Launch on `port`, or on any free port if it was taken meanwhile; docker's errors as ours."""
        try:
            try:
                self._launch(port)
            except APIError as exc:
                message = str(exc).lower()
                if not (port and ("already allocated" in message or "address already in use" in message)):
                    raise
                self.log(f"port {port} was taken meanwhile; publishing the emulator on a free port instead")
                self._launch(0)
        except APIError as exc:
            raise ContainerError(f"could not start {self.image.ref}: {exc.explanation or exc}") from None
        except ENGINE_ERRORS as exc:
            raise ContainerError(f"could not start {self.image.ref}: the engine failed: {short_error(exc)}") from None

    def _launch(self, port: int) -> None:
        options = {
            **self.options,
            "name": f"plc-{self.options['labels'][LABEL_SESSION]}-{uuid.uuid4().hex[:6]}",
            "ports": {CONTAINER_PORT: ("127.0.0.1", port or None)},
        }
        self.container = self.engine.client.containers.create(self.image.id, **options)
        # Registered before it starts: whatever happens next, it is removed.
        with _LIVE_LOCK:
            _LIVE[self.id] = self
        try:
            self._check_open()  # removed while this was being created
            self.container.start()
            self.container.reload()
            binding = (self.container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT) or []
            self.port = int(binding[0]["HostPort"]) if binding else port
            self.url = f"http://127.0.0.1:{self.port}"
            self._http.base_url = httpx.URL(self.url)
            self.wait_ready(self.ready_timeout)
        except BaseException:
            self._discard()
            raise
        self._dead = False

    def _check_open(self) -> None:
        if self._closed:
            raise ContainerError(f"container {self.name} ({self.image.ref}) was removed; start a new one")

    def ensure_running(self) -> None:
        """Start a fresh container in place of this one if it has died (the object stays valid)."""
        with self._lock:
            self._check_open()
            if self._dead or self.exit_code() is not None:
                self._revive()

    def _revive(self) -> None:
        """Start a fresh container in place of the dead one, on the same port if it is free."""
        self._discard()
        self.restarts += 1
        self._launch_on(self.port if port_is_free(self.port) else 0)

    def wait_ready(self, timeout: float) -> None:
        """Return once the emulator answers HTTP; raise if the container exits or never answers."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_exited("exited before the emulator answered")
            try:
                # Any HTTP answer means the emulator listens; docker's port proxy alone only resets the connection.
                self._http.get("/", timeout=1.0)
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ContainerNotReady(
                    f"container {self.name} ({self.image.ref}) runs, but the emulator did not answer on {self.url} "
                    f"within {timeout:.0f}s",
                    logs=self.logs(tail=50),
                )
            time.sleep(0.05)

    # -- state ----------------------------------------------------------------------------------------------

    def exit_code(self) -> int | None:
        """The exit code if the container has stopped, else None."""
        if self.container is None:
            return -1
        try:
            self.container.reload()
        except NotFound:
            return -1
        except ENGINE_ERRORS as exc:
            raise ContainerError(
                f"the Docker engine at {self.engine.address} stopped answering while {self.name} was in use: "
                f"{short_error(exc)}"
            ) from None
        state = self.container.attrs.get("State") or {}
        if state.get("Running") or state.get("Status") in {"created", "running", "restarting"}:
            return None
        return int(state.get("ExitCode", -1))

    def _raise_if_exited(self, what: str) -> None:
        code = self.exit_code()
        if code is not None:
            logs = self.logs(tail=50)
            hint = " (killed, or out of memory)" if code == 137 else ""
            self._dead = True
            raise ContainerExited(
                f"container {self.name} ({self.image.ref}) {what}: container exited with code {code}{hint}.\n"
                f"Last lines of its log:\n{logs}",
                exit_code=code,
                logs=logs,
            )

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """The container's output (stdout and stderr); `tail` lines, or those `since` a UNIX time."""
        if self.container is None:
            return ""
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True}
        if tail is not None:
            kwargs["tail"] = tail
        if since is not None:
            kwargs["since"] = since  # a float: to the sub-second, where a datetime would round to the second
        try:
            return bytes(self.container.logs(**kwargs)).decode("utf-8", "replace")
        except ENGINE_ERRORS:
            return ""

    # -- invoking -------------------------------------------------------------------------------------------

    def invoke_raw(self, payload: bytes) -> httpx.Response:
        """POST a serialized event to the emulator: one call at a time, since a second concurrent one crashes it."""
        if len(payload) > MAX_PAYLOAD:
            raise PayloadTooLarge(
                f"the request payload is {len(payload):,} bytes; Lambda accepts at most {MAX_PAYLOAD:,} bytes "
                "for a synchronous invocation (AWS answers RequestEntityTooLargeException, and API Gateway 413)"
            )
        with self._lock:
            self._check_open()
            if self._dead:
                self._revive()
            self.invocations += 1
            try:
                return self._http.post(INVOKE_PATH, content=payload, headers={"Content-Type": "application/json"})
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.TimeoutException):
                    # Past the function timeout and then some: the emulator is stuck, and may still be busy
                    # (a second call would crash it). The next call gets a fresh container.
                    self._dead = True
                else:
                    # A dropped connection usually means the container is dying, but the engine may still
                    # report it running for a moment: wait for its state, so this call reports the death and
                    # the next one gets a fresh container, rather than two calls failing.
                    deadline = time.monotonic() + 3.0
                    while time.monotonic() < deadline:
                        self._raise_if_exited("died during an invocation")
                        time.sleep(0.05)
                raise ContainerError(
                    f"invoking {self.name} at {self.url} failed: {type(exc).__name__}: {exc}", logs=self.logs(tail=50)
                ) from exc

    def invoke_event(self, event: Any) -> Any:
        """Invoke the function with `event` (any JSON value); its result, or an `InvocationError`."""
        payload = json.dumps(event).encode("utf-8")
        # Decoded under the lock too: telling a dead container from a live one must not race with a restart.
        with self._lock:
            return self.decode_result(self.invoke_raw(payload))

    def decode_result(self, response: httpx.Response) -> Any:
        """Tell the emulator's answers apart: a result, a function error, a timeout, a dead runtime."""
        text = response.text
        if not text.strip():
            self._raise_if_exited("died during an invocation")
            logs = self.logs(tail=30)
            raise InvocationError(
                f"the emulator returned an empty response (HTTP {response.status_code}): the runtime process "
                "exited during the invocation, or never started. Does the image start a Lambda runtime client "
                "(e.g. ENTRYPOINT python -m awslambdaric, CMD app.handler)?\n"
                f"Last lines of the container log:\n{logs}",
                logs=logs,
            )
        if text.startswith("Task timed out after"):
            raise FunctionTimeout(
                f"the function timed out: {text.strip()} (the limit is {self.timeout:g}s; raise it with "
                "--lambda-timeout or ini lambda_timeout)",
                timeout=self.timeout,
                payload=text,
            )
        try:
            result = json.loads(text)
        except ValueError:
            raise InvocationError(
                f"the emulator answered HTTP {response.status_code} with something that is not JSON: {text[:500]!r}",
                payload=text,
                logs=self.logs(tail=30),
            ) from None
        error = function_error(result, function_error_header=response.headers.get("X-Amz-Function-Error"))
        if isinstance(error, HandlerImportError):
            error = HandlerImportError(
                error.error_type, error.error_message, error.stack_trace, payload=result, logs=self.logs(tail=30)
            )
        if error is not None:
            raise error
        return result

    # -- ending ---------------------------------------------------------------------------------------------

    def remove(self) -> None:
        """Stop and remove the container (idempotent); the object cannot invoke any more.

        Not under the invocation lock: teardown (Ctrl-C, exit) must not wait for a call in flight; a restart
        racing with it sees `_closed` and removes what it made.
        """
        self._closed = True
        self._discard()
        self._http.close()

    def release(self) -> None:
        """Let go of the container without removing it (it was kept for debugging)."""
        self._closed = True
        with _LIVE_LOCK:
            _LIVE.pop(self.id, None)
        self._http.close()

    def _discard(self) -> None:
        with _LIVE_LOCK:
            _LIVE.pop(self.id, None)
        if self.container is None:
            return
        try:
            self.container.remove(force=True)
        except NotFound:
            pass
        except APIError as exc:
            if not (exc.status_code == 409 and "in progress" in str(exc)):  # being removed already: fine
                self._report_leftover(exc)
        except ENGINE_ERRORS as exc:
            self._report_leftover(exc)

    def _report_leftover(self, exc: BaseException) -> None:
        # Nothing more can be done from here (the engine is gone, say); at least say what is left, and how to
        # remove it. The next session's orphan sweep removes it too.
        self.log(
            f"could not remove container {self.name} ({short_error(exc)}); remove it with `docker rm -f {self.name}`"
        )


def _stderr(line: str) -> None:
    print(f"pytest-lambda-container: {line}", file=sys.stderr)


def function_error(result: Any, *, function_error_header: str | None = None) -> FunctionError | None:
    """The `FunctionError` a result stands for (an `errorType`/`errorMessage` payload), or None."""
    if not isinstance(result, dict):
        if function_error_header:
            return FunctionError(function_error_header, json.dumps(result), payload=result)
        return None
    looks_like_error = "errorMessage" in result and set(result) <= _ERROR_KEYS
    if not (looks_like_error or function_error_header):
        return None
    error_type = str(result.get("errorType") or function_error_header or "Error")
    stack = result.get("stackTrace")
    stack_lines = [str(s) for s in stack] if isinstance(stack, list) else ([str(stack)] if stack else [])
    cls = HandlerImportError if error_type.startswith(IMPORT_ERRORS) else FunctionError
    return cls(error_type, str(result.get("errorMessage", "")), stack_lines, payload=result)


def live_containers() -> list[LambdaContainer]:
    """Containers this process started and has not removed."""
    with _LIVE_LOCK:
        return list(_LIVE.values())


def remove_all() -> None:
    """Remove every container this process started (at session end, on Ctrl-C, at interpreter exit)."""
    for container in live_containers():
        container.remove()


atexit.register(remove_all)


def reap_orphans(engine: Engine) -> list[str]:
    """Remove our containers whose pytest process on this host is gone (a SIGKILLed run); names removed."""
    host = socket.gethostname()
    removed = []
    try:
        candidates = engine.client.containers.list(all=True, filters={"label": LABEL})
    except ENGINE_ERRORS:
        return []
    for container in candidates:
        labels = container.labels or {}
        if labels.get(LABEL_HOST) != host or labels.get(LABEL_KEEP):
            continue
        try:
            pid = int(labels.get(LABEL_PID, ""))
        except ValueError:
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            container.remove(force=True)
            removed.append(container.name or container.id or "")
        except ENGINE_ERRORS:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
