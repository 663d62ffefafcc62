"""`LambdaTransport`: an httpx transport that turns each request into a Lambda event and the result into a response."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any, Callable, Protocol

import httpx

from ..errors import CallerTimeout, IntegrationTimeout, InvocationError, PayloadTooLarge
from .cors import CORS_FRONTS, Cors, check_front, is_preflight
from .events import EventFormat, EventOptions, HttpRequest, get_format
from .headers import front_headers, with_front_headers
from .http_only import HttpOnlyTransport
from .integration import integration_cap

# Re-exported: their documented place was this module.
from .invoke import (
    EXTENSION,
    HTTP_METHODS,
    RAISE,
    InvokeFunction,
    check_invoke_arguments,
    make_invoke,
)
from .responses import HttpResult, error_result
from .site import outside_answer, site_of, within

__all__ = [
    "EXTENSION",
    "HTTP_METHODS",
    "RAISE",
    "AsyncLambdaTransport",
    "HttpOnlyTransport",
    "InvokeFunction",
    "LambdaTransport",
    "check_invoke_arguments",
    "make_invoke",
]


class Invoker(Protocol):
    """Anything that takes an event and returns the function's result, raising `InvocationError` subclasses.

    A target whose `invoke_event` also takes `timeout=` (seconds: how long to wait for this call) lets the transport
    give up as API Gateway does after its integration timeout; it raises `CallerTimeout` then."""

    def invoke_event(self, event: Any) -> Any: ...


@dataclasses.dataclass(frozen=True)
class Call:
    """One request on its way through a front: the request, as the front saw it, its options and its event."""

    request: httpx.Request
    http: HttpRequest
    options: EventOptions
    fmt: EventFormat
    event: dict[str, Any]
    #: Whether a failed invocation raises (True) or becomes the front's answer; per call, or the transport's.
    raise_function_errors: bool = True
    #: The request is for a path outside the front's stage: the front answers, the function is not invoked.
    outside: bool = False


def takes_timeout(invoke: Callable[..., Any]) -> bool:
    """Whether `invoke` accepts a `timeout=` keyword (a container does; a plain in-process function may not)."""
    try:
        parameters = inspect.signature(invoke).parameters
    except (TypeError, ValueError):
        return False
    return "timeout" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


class LambdaTransport(httpx.BaseTransport):
    """Send httpx requests to a Lambda function as events of one front (`rest`, `http`, `function-url`, `alb`...).

    Per request, `extensions={"lambda": {"event_format": "http", "request_context": {...}, ...}}` overrides the
    format and sets `EventOptions` fields. With `raise_function_errors=False`, a failed invocation (function
    error, timeout, malformed result, payload too large) becomes the answer the front gives
    (`responses.ERROR_RESPONSES`) instead of an exception.

    API Gateway stops waiting after its integration timeout (REST 29 s, HTTP API 30 s; `integration_timeout=`
    overrides both, HTTP APIs allow at most 30 s) and answers in the function's place (`IntegrationTimeout`);
    function URLs and ALBs wait for the function's own timeout.
    """

    def __init__(
        self,
        target: Invoker,
        *,
        event_format: str | EventFormat = "rest",
        options: EventOptions | Mapping[str, Any] | None = None,
        raise_function_errors: bool = True,
        source_ip: str = "127.0.0.1",
        integration_timeout: float | None = None,
        cors: Cors | None = None,
        bound: bool = False,
        debugging: bool = False,
    ) -> None:
        self.target = target
        self.event_format = get_format(event_format)
        self.options = EventOptions.coerce(options)
        self.raise_function_errors = raise_function_errors
        self.source_ip = source_ip
        self.integration_timeout = integration_timeout
        self.cors = cors or Cors()
        #: A debugger is attached to the function (--lambda-debug-port): the front waits as long as it takes.
        self.debugging = debugging
        #: With `bound`, the front's own address (`site.site_of`): requests for another host fail to connect, those
        #: outside its stage get the front's answer, as on AWS; `base_url` is what a client should use.
        self.site = httpx.URL(site_of(self.event_format, self.options)) if bound else None
        check_front(self.cors, self.event_format.name)  # CORS on a REST or ALB front fails here, with how to fix it
        self.cap(self.event_format)  # a timeout the default front cannot have fails here, not on the first call
        self._takes_timeout = takes_timeout(target.invoke_event)

    @property
    def base_url(self) -> str:
        """Where a client reaches the front: its HTTPS address and stage when `bound`, else any host."""
        return str(self.site) if self.site is not None else "https://lambda"

    def cap(self, fmt: EventFormat) -> float | None:
        """How long `fmt` waits for the function (None: the function's own timeout); `ConfigError` past its limit."""
        return integration_cap(fmt, self.integration_timeout)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_call(self.build_call(request))

    def build_call(self, request: httpx.Request) -> Call:
        """The event for `request`, in the format it asks for (or the transport's), with what was used to make it."""
        settings = dict(request.extensions.get(EXTENSION) or {})
        fmt = get_format(settings.pop("event_format", None) or self.event_format)
        raising = settings.pop(RAISE, None)
        options = self.options
        if settings:
            EventOptions.coerce(settings)  # names unknown keys
            options = dataclasses.replace(options, **settings)
        request.read()
        http = HttpRequest.from_httpx(request, source_ip=self.source_ip)
        outside = False
        if self.site is not None:
            relative = within(self.site, request)
            outside = relative is None
            raw_path, _, raw_query = (relative or "/").partition("?")
            http = dataclasses.replace(http, raw_path=raw_path, raw_query=raw_query)
        raising = self.raise_function_errors if raising is None else bool(raising)
        return Call(request, http, options, fmt, fmt.build(http, options), raising, outside)

    def handle_call(self, call: Call) -> httpx.Response:
        """Invoke with an event already built; the response (front errors included), with the function's report.
        A CORS preflight to a front configured for CORS is answered by the front, the function not invoked; so is a
        request outside the front's stage."""
        outside = outside_answer(call.fmt.name) if call.outside else None
        if outside is not None:
            return self.front_answer(call, outside, {"lambda_outside_stage": True})
        if self.cors_of(call) is not None and is_preflight(
            call.http.method, call.http.header("origin"), call.http.header("access-control-request-method")
        ):
            return self.preflight(call)
        try:
            result = self.invoke(call)
        except InvocationError as exc:
            return with_report(self.error_response(call, exc), self.target)
        return with_report(self.response(call, result), self.target)

    def invoke(self, call: Call) -> Any:
        """The function's result for `call`, as far as the front lets it get: its size and time limits applied."""
        limit = call.fmt.max_request_body
        if limit is not None and len(call.http.body) > limit:
            raise PayloadTooLarge(
                f"the request body is {len(call.http.body):,} bytes; the {call.fmt.name} front passes at most "
                f"{limit:,} bytes to a Lambda function, and answers 413 to larger ones"
            )
        cap = None if self.debugging else self.cap(call.fmt)
        own = getattr(self.target, "timeout", None)
        if cap is None or not self._takes_timeout or (own is not None and own <= cap):
            # The function's own timeout comes first: a function error (502), as on AWS.
            return self.target.invoke_event(call.event)
        try:
            return self.target.invoke_event(call.event, timeout=cap)  # type: ignore[call-arg]
        except CallerTimeout as exc:
            raise IntegrationTimeout(
                f"the {call.fmt.name} front stopped waiting after its integration timeout of {cap:g}s (the "
                f"function's own timeout is {own:g}s); on AWS the caller gets an error while the function runs on. "
                "Answer faster, or raise --lambda-integration-timeout where AWS allows it",
                timeout=cap,
                payload=exc.payload,
            ) from None

    def cors_of(self, call: Call) -> Cors | None:
        """The CORS configuration the call's front applies, if it has one (HTTP API, function URL)."""
        return self.cors if self.cors.configured and call.fmt.name in CORS_FRONTS else None

    def headers_of(self, call: Call, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """An answer's headers as the front sends them: its CORS configuration's, then its own request ids."""
        cors = self.cors_of(call)
        if cors is not None:
            headers = cors.answer_headers(headers, call.http.header("origin"))
        return with_front_headers(headers, front_headers(call.fmt.name, call.event))

    def preflight(self, call: Call) -> httpx.Response:
        """The front's own answer to a CORS preflight: 204, the configured headers for an allowed origin."""
        cors = self.cors_of(call)
        assert cors is not None
        headers = cors.preflight_headers(call.http.header("origin"))
        return self.front_answer(call, HttpResult(204, headers), {"lambda_preflight": True}, cors=False)

    def front_answer(
        self, call: Call, answer: HttpResult, extensions: dict[str, Any], *, cors: bool = True
    ) -> httpx.Response:
        """An answer the front gives itself, with its own headers (and its CORS headers unless `cors` is off)."""
        own = front_headers(call.fmt.name, call.event)
        headers = self.headers_of(call, answer.headers) if cors else with_front_headers(answer.headers, own)
        return httpx.Response(
            answer.status_code,
            headers=headers,
            content=b"" if call.request.method == "HEAD" else answer.body,
            request=call.request,
            extensions=extensions,
        )

    def response(self, call: Call, result: Any) -> httpx.Response:
        """The front's HTTP response to the function's `result`."""
        try:
            decoded = call.fmt.decode(result, call.http, call.options)
        except InvocationError as exc:
            return self.error_response(call, exc)
        extensions: dict[str, Any] = {"lambda_event": call.event, "lambda_result": result}
        if decoded.reason is not None:
            extensions["reason_phrase"] = decoded.reason.encode("latin-1", errors="replace")
        return httpx.Response(
            decoded.status_code,
            headers=self.headers_of(call, decoded.headers),
            # Every front drops a HEAD response's body, whatever the function returned.
            content=b"" if call.request.method == "HEAD" else decoded.body,
            request=call.request,
            extensions=extensions,
        )

    def error_response(self, call: Call, exc: InvocationError) -> httpx.Response:
        """Raise `exc`, or (with `raise_function_errors=False`) answer as the front does."""
        answer = None if call.raise_function_errors else error_result(call.fmt.name, exc)
        if answer is None:
            raise exc
        return self.front_answer(call, answer, {"lambda_event": call.event, "lambda_error": exc})


class AsyncLambdaTransport(httpx.AsyncBaseTransport):
    """The async twin of `LambdaTransport`, for `httpx.AsyncClient`: the blocking invocation runs in a worker
    thread, so the event loop stays free; the container still serves one invocation at a time."""

    def __init__(self, target: Invoker, **kwargs: Any) -> None:
        self.sync = LambdaTransport(target, **kwargs)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread

        await request.aread()
        call = self.sync.build_call(request)
        # Answered in the invoking thread: the function's report is per thread.
        return await anyio.to_thread.run_sync(self.sync.handle_call, call)


def with_report(response: httpx.Response, target: Invoker) -> httpx.Response:
    """`response` with the invocation's report (`metrics.LazyReport`, read when asked) where the target keeps one."""
    report = getattr(target, "last_report", None)
    if report is not None:
        response.extensions["lambda_report"] = report
    return response
