"""`invoke(method, path, ...)`: the one-call helper over an `httpx.Client` that reaches a function, and its checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import httpx

from .events import EventOptions, get_format

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
#: The key of `httpx.Request.extensions` that carries per-request event settings.
EXTENSION = "lambda"
#: The per-request setting (in EXTENSION) that asks for the front's answer instead of an exception, or the reverse.
RAISE = "raise_function_errors"


def check_invoke_arguments(method: str, path: str, json_body: Any, body: Any) -> str:
    """Validate `invoke`'s arguments; the upper-cased method, or a `ValueError` that says what is wrong."""
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise ValueError(f"{method!r} is not an HTTP method; use one of {', '.join(sorted(HTTP_METHODS))}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with '/', e.g. '/items/1'")
    if json_body is not None and body is not None:
        raise ValueError("give either json= or body=, not both")
    return method.upper()


InvokeFunction = Callable[..., httpx.Response]


def make_invoke(client: httpx.Client) -> InvokeFunction:
    """The `invoke(method, path, query=None, *, headers=None, json=None, body=None, ...)` helper over `client`."""

    def invoke(
        method: str,
        path: str,
        query: Mapping[str, str | list[str]] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        body: str | bytes | None = None,
        event_format: str | None = None,
        raise_function_errors: bool | None = None,
        **event_options: Any,
    ) -> httpx.Response:
        """Send one HTTP-style request through the function; an `httpx.Response`, or the function's error
        (`raise_function_errors=False`: the front's answer to it, e.g. a 502, instead)."""
        verb = check_invoke_arguments(method, path, json, body)
        settings: dict[str, Any] = dict(event_options)
        if event_format is not None:
            settings["event_format"] = get_format(event_format).name
        if raise_function_errors is not None:
            settings[RAISE] = bool(raise_function_errors)
        EventOptions.coerce(event_options)  # unknown keyword arguments fail here, with the valid ones listed
        return client.request(
            verb,
            path,
            params=query,
            headers=headers,
            json=json,
            content=body,
            extensions={EXTENSION: settings} if settings else None,
        )

    return invoke
