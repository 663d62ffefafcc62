"""Test an AWS Lambda container image end to end: build it, run it under aws-lambda-rie, invoke it over HTTP.

Left out of pytest's assertion rewriting (PYTEST_DONT_REWRITE): see `_leave_to_plain_imports`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any


def _leave_to_plain_imports() -> None:
    """Have pytest leave this package's modules to Python's own import.

    pytest rewrites the asserts of every module of a plugin's distribution: it parses and compiles each one again,
    and caches that only where bytecode may be written, so under PYTHONDONTWRITEBYTECODE=1 (common in CI images, and
    set on this project's CI machine) every pytest start redid it for the ~60 modules a container test imports: ~0.2 s
    of CPU, most of it on a one-test run's critical path (issue 17). This package offers no assert-based helpers to
    tests, so the rewriting buys nothing. There is no public switch for a whole package: the mark is taken back from
    pytest's import hook where it is found (its private `_must_rewrite`; where that changes, this does nothing), and
    the docstring's PYTEST_DONT_REWRITE keeps the runs pytester nests from warning that the package was imported
    before they could rewrite it. Called at the package's import, and by each run's `pytest_addoption`.
    """
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)  # pytest's AssertionRewritingHook
        if isinstance(marked, set):
            marked.discard(__name__)


_leave_to_plain_imports()  # before the imports below: they are this package's first modules

from .errors import (  # noqa: E402  # after the line above, on purpose
    BuildFailed,
    CallerTimeout,
    ConfigError,
    ContainerError,
    ContainerExited,
    ContainerNotReady,
    EmulatorUnavailable,
    EngineRefused,
    EngineUnavailable,
    FunctionError,
    FunctionOutOfMemory,
    FunctionTimeout,
    HandlerImportError,
    IntegrationTimeout,
    InvalidResponse,
    InvocationError,
    LambdaContainerError,
    NotOnTarget,
    PayloadTooLarge,
    RuntimeUnavailable,
    Unreachable,
)

if TYPE_CHECKING:
    from .build.image import ImageInfo
    from .config.function import FunctionSpec
    from .config.settings import Settings
    from .container.function import LambdaContainer
    from .container.pool import FunctionPool
    from .container.session import LambdaSession
    from .fronts.events import FORMATS, EventOptions, HttpRequest
    from .fronts.transport import AsyncLambdaTransport, LambdaTransport, make_invoke

#: Where each public name lives: imported on first use, so that loading the pytest plugin (every pytest start, even
#: `--co` or a run on another target) does not import docker, httpx or the build machinery (issue 17).
_LAZY = {
    "ImageInfo": ".build.image",
    "FunctionSpec": ".config.function",
    "Settings": ".config.settings",
    "LambdaContainer": ".container.function",
    "FunctionPool": ".container.pool",
    "LambdaSession": ".container.session",
    "EventOptions": ".fronts.events",
    "FORMATS": ".fronts.events",
    "HttpRequest": ".fronts.events",
    "AsyncLambdaTransport": ".fronts.transport",
    "LambdaTransport": ".fronts.transport",
    "make_invoke": ".fronts.transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "FORMATS",
    "AsyncLambdaTransport",
    "BuildFailed",
    "CallerTimeout",
    "ConfigError",
    "ContainerError",
    "ContainerExited",
    "ContainerNotReady",
    "EmulatorUnavailable",
    "EngineRefused",
    "EngineUnavailable",
    "EventOptions",
    "FunctionError",
    "FunctionOutOfMemory",
    "FunctionPool",
    "FunctionSpec",
    "FunctionTimeout",
    "HandlerImportError",
    "HttpRequest",
    "ImageInfo",
    "IntegrationTimeout",
    "InvalidResponse",
    "InvocationError",
    "LambdaContainer",
    "LambdaContainerError",
    "LambdaSession",
    "LambdaTransport",
    "NotOnTarget",
    "PayloadTooLarge",
    "RuntimeUnavailable",
    "Settings",
    "Unreachable",
    "make_invoke",
]
