"""Test an AWS Lambda container image end to end: build it, run it under aws-lambda-rie, invoke it over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
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
