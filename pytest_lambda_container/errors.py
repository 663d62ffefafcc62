"""Every error the plugin raises, rooted in one base class.

    LambdaContainerError
    ├── ConfigError              a bad option, ini value or fixture argument
    ├── NotOnTarget              the test asks for what the target cannot do (a container's logs in-process, raw
    │                            events over HTTP); under pytest, pytest's own skip instead (`not_on_target`)
    ├── EngineUnavailable        no Docker engine answers at DOCKER_HOST / the socket, or it stopped answering
    ├── EngineRefused            the engine answered a request with an error (docker's APIError): status_code
    ├── BuildFailed              the Dockerfile did not build (carries the log tail)
    ├── EmulatorUnavailable      aws-lambda-rie could not be found or provisioned
    ├── Unreachable              nothing answers at the url or endpoint under test (url and function targets)
    ├── ContainerError           the container would not start, or stopped answering
    │   ├── ContainerNotReady    started, but the emulator never answered
    │   ├── ContainerExited      the container stopped (carries exit code and log tail)
    │   └── RuntimeUnavailable   the image cannot start a Lambda runtime (no runtime client, nothing to run): cause
    ├── InvocationError          an invocation failed (or, too large, could not be made)
    │   ├── FunctionError        the handler raised: errorType, errorMessage, stackTrace
    │   │   ├── HandlerImportError   the handler module could not be loaded (Runtime.ImportModuleError, ...)
    │   │   └── FunctionOutOfMemory  the kernel killed the runtime for memory (Lambda's Runtime.OutOfMemory)
    │   ├── FunctionTimeout      the function ran past its own timeout
    │   ├── CallerTimeout        the caller stopped waiting first (`invoke_event(timeout=)`); the function may run on
    │   │   └── IntegrationTimeout   the caller was the front (API Gateway's integration timeout: 29 s, 30 s)
    │   ├── PayloadTooLarge      the request is over Lambda's 6 MB synchronous payload limit
    │   └── InvalidResponse      the function returned something the front cannot turn into HTTP (a 502 on AWS)

What each way an invocation can end maps to is decided in one place, `container/outcome.py`.

Errors about a container carry its log tail as `.logs` (and its name as `.container`), never in the message:
the pytest plugin shows the log once, in the failed test's report.

A function error is not a transport failure, so `lambda_client` raises these as they are (the way httpx's
WSGI transport re-raises app exceptions); pass `raise_function_errors=False` to get API Gateway's 502 instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class LambdaContainerError(Exception):
    """Base class of every error raised by pytest-lambda-container."""

    #: The log tail of the container the error is about ("" when there is none).
    logs: str = ""
    #: The name of that container.
    container: str = ""


class ConfigError(LambdaContainerError):
    """A setting is invalid; the message names the setting, where it came from and how to fix it."""


class NotOnTarget(LambdaContainerError):
    """What was asked needs another target: e.g. `.logs()` needs a container, `invoke_event` needs raw events."""

    def __init__(self, message: str, *, target: str = "") -> None:
        super().__init__(message)
        #: The target the run uses (container, inprocess, url, function).
        self.target = target


#: What `not_on_target` makes instead of `NotOnTarget` while the pytest plugin runs (skipping.py): a subclass of
#: pytest's skip exception, which derives from BaseException so that a test's `except Exception` (or
#: `pytest.raises(Exception)`) cannot swallow a skip. Set by the plugin, so that this module needs no pytest.
SkipFactory = Callable[[str, str], BaseException]
_under_pytest: SkipFactory | None = None


def not_on_target(message: str, *, target: str = "") -> BaseException:
    """The error for what `target` cannot do: `NotOnTarget` in plain Python; under pytest, pytest's skip (with the
    same message, and `.target`)."""
    if _under_pytest is not None:
        return _under_pytest(message, target)
    return NotOnTarget(message, target=target)


def raise_under_pytest(
    factory: Callable[[str, str], BaseException] | None,
) -> Callable[[str, str], BaseException] | None:
    """Make `not_on_target` use `factory` (None: `NotOnTarget` again); the factory it used before."""
    global _under_pytest
    before, _under_pytest = _under_pytest, factory
    return before


class EngineUnavailable(LambdaContainerError):
    """No Docker engine answers."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        #: The engine client's own words.
        self.reason = reason or message


class EngineRefused(LambdaContainerError):
    """The Docker engine answered a request with an error."""

    def __init__(self, message: str, *, status_code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        #: The engine's own words.
        self.reason = reason or message


class BuildFailed(LambdaContainerError):
    """The image did not build; the build log's tail is in `.logs` (the report shows it once)."""

    def __init__(self, message: str, *, dockerfile: str = "", log_tail: str = "") -> None:
        super().__init__(message)
        self.dockerfile = dockerfile
        self.logs = log_tail

    @property
    def log_tail(self) -> str:
        """The last lines of the build log."""
        return self.logs


class EmulatorUnavailable(LambdaContainerError):
    """The aws-lambda-rie binary could not be found or provisioned."""


class Unreachable(LambdaContainerError):
    """Nothing takes the connection at the address under test (`--lambda-url`, `--lambda-endpoint-url`, AWS's)."""

    def __init__(self, message: str, *, address: str = "") -> None:
        super().__init__(message)
        #: The address that did not answer.
        self.address = address


class ContainerError(LambdaContainerError):
    """The container could not be started or stopped answering."""

    def __init__(self, message: str, *, logs: str = "", container: str = "") -> None:
        super().__init__(message)
        self.logs = logs
        self.container = container


class ContainerNotReady(ContainerError):
    """The container runs, but the emulator never answered."""


class ContainerExited(ContainerError):
    """The container stopped."""

    def __init__(self, message: str, *, exit_code: int | None, logs: str = "", container: str = "") -> None:
        super().__init__(message, logs=logs, container=container)
        self.exit_code = exit_code


class RuntimeUnavailable(ContainerError):
    """The image cannot start a Lambda runtime: every invocation would come back empty. Found at start-up."""

    def __init__(self, cause: str, message: str, *, container: str = "") -> None:
        super().__init__(f"{cause}\n{message}", container=container)
        #: What the runtime's start would fail on, in its own words (e.g. `python: No module named awslambdaric`).
        self.cause = cause


class InvocationError(LambdaContainerError):
    """An invocation reached the function and failed."""

    def __init__(self, message: str, *, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


class FunctionError(InvocationError):
    """The handler raised; carries the function's errorType, errorMessage and stackTrace."""

    def __init__(
        self,
        error_type: str,
        error_message: str,
        stack_trace: list[str] | None = None,
        *,
        payload: Any = None,
    ) -> None:
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = list(stack_trace or [])
        text = f"{error_type}: {error_message}"
        if self.stack_trace:
            text += "\nFunction stack trace (most recent call last):\n" + "".join(
                line if line.endswith("\n") else line + "\n" for line in self.stack_trace
            )
        super().__init__(text.rstrip("\n"), payload=payload)


class HandlerImportError(FunctionError):
    """The runtime could not load the handler (bad module or function name, import-time exception)."""


class FunctionOutOfMemory(FunctionError):
    """The function used more than its memory and was killed (`error_type` "Runtime.OutOfMemory", as on Lambda)."""


class FunctionTimeout(InvocationError):
    """The function ran past its configured timeout."""

    def __init__(self, message: str, *, timeout: float | None, payload: Any = None) -> None:
        super().__init__(message, payload=payload)
        self.timeout = timeout


class CallerTimeout(InvocationError):
    """The caller stopped waiting (`invoke_event(..., timeout=)`) before the function's own timeout; it may run on."""

    def __init__(self, message: str, *, timeout: float, payload: Any = None) -> None:
        super().__init__(message, payload=payload)
        #: How long the caller waited, in seconds.
        self.timeout = timeout


class IntegrationTimeout(CallerTimeout):
    """The front stopped waiting for the function (API Gateway's integration timeout); the function may run on."""


class PayloadTooLarge(InvocationError):
    """The request payload is over Lambda's synchronous invocation limit."""


class InvalidResponse(InvocationError):
    """The function's result cannot be turned into an HTTP response by the front (API Gateway answers 502)."""
