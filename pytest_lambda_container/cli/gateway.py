"""A local HTTP gateway as an ASGI app: each request becomes an `httpx.Request`, goes through an httpx transport (a
`LambdaTransport`: an event, the function, the front's response) and is answered with what the front answered.

It takes no server of its own: `serve` runs it under uvicorn. The transport is blocking (the emulator takes one call
at a time), so each call runs in a worker thread and the event loop stays free to accept the next request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

import anyio.to_thread
import httpx

from ..errors import FunctionError, LambdaContainerError
from ..fronts.events.base import HOP_BY_HOP

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Log = Callable[[str], None]


class Disconnected(Exception):
    """The client went away before its request body arrived."""


class Gateway:
    """The ASGI app: HTTP requests through `transport`, `log` lines of each: method and path as it starts, then with
    status and milliseconds.

    What the function does wrong is the front's answer (a `LambdaTransport` with `raise_function_errors=False`);
    a container that cannot answer at all (it died and cannot restart, the engine went away) is a 502 whose body
    and log line say why.
    """

    def __init__(self, transport: httpx.BaseTransport, *, log: Log = print) -> None:
        self.transport = transport
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: a Lambda front has none of its own
            await send({"type": "websocket.close", "code": 1003})
            return
        try:
            body = await read_body(receive)
        except Disconnected:
            return
        request = to_httpx(scope, body)
        # Said before the call: the function's own lines (printed as they come) then follow the request they are of.
        self.log(f"{request.method} {target_of(scope)} ...")
        started = time.perf_counter()
        try:
            response = await anyio.to_thread.run_sync(self.transport.handle_request, request)
        except LambdaContainerError as exc:
            self.log(f"error: {exc}")
            response = httpx.Response(502, json={"message": f"Bad Gateway: {exc}"}, request=request)
        elapsed = (time.perf_counter() - started) * 1000
        await send_response(send, response, head=request.method == "HEAD")
        line = f"{request.method} {target_of(scope)} {response.status_code} {elapsed:.0f} ms"
        error = response.extensions.get("lambda_error")
        # The front's answer to a failed invocation says only "Internal server error": the why is for the log.
        self.log(f"{line} ({why(error)})" if error else line)


def why(error: Exception, limit: int = 200) -> str:
    """One line on a failed invocation: the function's own error type and message, or our error's name and why."""
    first = (str(error).splitlines() or [""])[0]
    text = first if isinstance(error, FunctionError) else f"{type(error).__name__}: {first}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive) -> bytes:
    """The whole request body (a Lambda event carries it whole, never streamed)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def target_of(scope: Scope) -> str:
    """The request's path and query as the client sent them (percent-encoding kept)."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("utf-8", "replace") if raw_path else quote(scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def to_httpx(scope: Scope, body: bytes) -> httpx.Request:
    """The ASGI request as an `httpx.Request`: method, path and query as sent, headers in order with repeats kept."""
    host, port = scope.get("server") or ("127.0.0.1", 80)
    url = httpx.URL(f"{scope.get('scheme', 'http')}://{_host(host)}:{port}{target_of(scope)}")
    return httpx.Request(scope["method"], url, headers=list(scope["headers"]), content=body)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def send_response(send: Send, response: httpx.Response, *, head: bool = False) -> None:
    """Answer with `response`: its status, its headers in order with repeats kept, its body as the front sent it."""
    # The bytes as they came: `response.content` would be decoded by its Content-Encoding while the header stays.
    body = b"" if head else b"".join(response.stream)  # type: ignore[arg-type]
    # The front's hop-by-hop headers stay behind: uvicorn frames the answer itself. (A request's go on to the front,
    # which drops them as the real one does: ALB keeps Connection.)
    headers = [
        (name.lower(), value)
        for name, value in response.headers.raw
        if name.lower().decode("latin-1") not in HOP_BY_HOP
    ]
    if not head:
        headers = [(name, value) for name, value in headers if name != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
