"""Test an AWS Lambda container image end to end: build it, run it under aws-lambda-rie, invoke it over HTTP."""

from __future__ import annotations

from .build.image import ImageInfo
from .config.function import FunctionSpec
from .config.settings import Settings
from .container.function import LambdaContainer
from .container.pool import FunctionPool
from .container.session import LambdaSession
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
from .fronts.events import FORMATS, EventOptions, HttpRequest
from .fronts.transport import AsyncLambdaTransport, LambdaTransport, make_invoke

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
