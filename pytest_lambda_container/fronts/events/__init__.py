"""Request → event for every front of a Lambda function, and result → response back."""

from __future__ import annotations

from .alb import Alb
from .base import EventFormat, EventOptions, HttpRequest
from .http import FunctionUrl, HttpApi
from .http_v1 import HttpApiV1
from .rest import RestApi
from .triggers import eventbridge_event, s3_event, scheduled_event, sns_event, sqs_event

FORMATS: dict[str, EventFormat] = {
    f.name: f for f in (RestApi(), HttpApi(), HttpApiV1(), FunctionUrl(), Alb(multi_value=False), Alb(multi_value=True))
}


def get_format(name: str | EventFormat) -> EventFormat:
    """The event format called `name` (`rest`, `http`, `http-1.0`, `function-url`, `alb`, `alb-multi`)."""
    if not isinstance(name, str):
        return name
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown event format {name!r}; choose one of {', '.join(FORMATS)}") from None


__all__ = [
    "FORMATS",
    "EventFormat",
    "EventOptions",
    "HttpRequest",
    "eventbridge_event",
    "get_format",
    "s3_event",
    "scheduled_event",
    "sns_event",
    "sqs_event",
]
