"""`LambdaTransport`: an httpx transport that turns each request into a Lambda event and the result into a response."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Callable, Protocol

import httpx

from .errors import InvocationError
from .events import EventFormat, EventOptions, HttpRequest, get_format
from .responses import error_result

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
#: The key of `httpx.Request.extensions` that carries per-request event settings.
EXTENSION = "lambda"


class Invoker(Protocol):
    """Anything that takes an event and returns the function's result, raising `InvocationError` subclasses."""

    def invoke_event(self, event: Any) -> Any: ...


class LambdaTransport(httpx.BaseTransport):
    """Send httpx requests to a Lambda function as events of one front (`rest`, `http`, `function-url`, `alb`...).

    Per request, `extensions={"lambda": {"event_format": "http", "request_context": {...}, ...}}` overrides the
    format and sets `EventOptions` fields. With `raise_function_errors=False`, a failed invocation (function
    error, timeout, malformed result, payload too large) becomes the answer the front gives
    (`responses.ERROR_RESPONSES`) instead of an exception.
    """

    def __init__(
        self,
        target: Invoker,
        *,
        event_format: str | EventFormat = "rest",
        options: EventOptions | Mapping[str, Any] | None = None,
        raise_function_errors: bool = True,
        source_ip: str = "127.0.0.1",
    ) -> None:
        self.target = target
        self.event_format = get_format(event_format)
        self.options = EventOptions.coerce(options)
        self.raise_function_errors = raise_function_errors
        self.source_ip = source_ip

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_built(request, *self.build_event(request))

    def handle_built(self, request: httpx.Request, event: dict[str, Any], fmt: EventFormat) -> httpx.Response:
        """Invoke with an event already built; the response (front errors included), with the function's report."""
        try:
            result = self.target.invoke_event(event)
        except InvocationError as exc:
            return with_report(self.error_response(request, event, fmt, exc), self.target)
        return with_report(self.response(request, event, fmt, result), self.target)

    def build_event(self, request: httpx.Request) -> tuple[dict[str, Any], EventFormat]:
        """The event for `request`, in the format it asks for (or the transport's)."""
        settings = dict(request.extensions.get(EXTENSION) or {})
        fmt = get_format(settings.pop("event_format", None) or self.event_format)
        options = self.options
        if settings:
            EventOptions.coerce(settings)  # names unknown keys
            options = dataclasses.replace(options, **settings)
        request.read()
        return fmt.build(HttpRequest.from_httpx(request, source_ip=self.source_ip), options), fmt

    def response(self, request: httpx.Request, event: dict[str, Any], fmt: EventFormat, result: Any) -> httpx.Response:
        """The front's HTTP response to the function's `result`."""
        try:
            decoded = fmt.decode(result)
        except InvocationError as exc:
            return self.error_response(request, event, fmt, exc)
        return httpx.Response(
            decoded.status_code,
            headers=decoded.headers,
            # Every front drops a HEAD response's body, whatever the function returned.
            content=b"" if request.method == "HEAD" else decoded.body,
            request=request,
            extensions={"lambda_event": event, "lambda_result": result},
        )

    def error_response(
        self, request: httpx.Request, event: dict[str, Any], fmt: EventFormat, exc: InvocationError
    ) -> httpx.Response:
        """Raise `exc`, or (with `raise_function_errors=False`) answer as the front does."""
        answer = None if self.raise_function_errors else error_result(fmt.name, exc)
        if answer is None:
            raise exc
        return httpx.Response(
            answer.status_code,
            headers=answer.headers,
            content=answer.body,
            request=request,
            extensions={"lambda_event": event, "lambda_error": exc},
        )


class AsyncLambdaTransport(httpx.AsyncBaseTransport):
    """The async twin of `LambdaTransport`, for `httpx.AsyncClient`: the blocking invocation runs in a worker
    thread, so the event loop stays free; the container still serves one invocation at a time."""

    def __init__(self, target: Invoker, **kwargs: Any) -> None:
        self.sync = LambdaTransport(target, **kwargs)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread

        await request.aread()
        event, fmt = self.sync.build_event(request)
        # Answered in the invoking thread: the function's report is per thread.
        return await anyio.to_thread.run_sync(self.sync.handle_built, request, event, fmt)


def with_report(response: httpx.Response, target: Invoker) -> httpx.Response:
    """`response` with the invocation's report (`metrics.LazyReport`, read when asked) where the target keeps one."""
    report = getattr(target, "last_report", None)
    if report is not None:
        response.extensions["lambda_report"] = report
    return response


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
        **event_options: Any,
    ) -> httpx.Response:
        """Send one HTTP-style request through the function; an `httpx.Response`, or the function's error."""
        verb = check_invoke_arguments(method, path, json, body)
        settings: dict[str, Any] = dict(event_options)
        if event_format is not None:
            settings["event_format"] = get_format(event_format).name
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
