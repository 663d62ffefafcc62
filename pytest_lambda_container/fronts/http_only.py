"""`HttpOnlyTransport`: the url target's transport, real HTTP to a deployed endpoint (or `serve`), refusing what only
an event can carry. Re-exported by transport.py, its documented place."""

from __future__ import annotations

import httpx

from ..errors import Unreachable, not_on_target
from .invoke import EXTENSION, RAISE


class HttpOnlyTransport(httpx.BaseTransport):
    """Real HTTP to a deployed endpoint; a request that sets parts of the event (`invoke(..., request_context=...)`)
    cannot be sent that way, and is refused rather than sent without them."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Real HTTP always gives the front's answer: asking for it (or for an exception) changes nothing here.
        settings = {k: v for k, v in (request.extensions.get(EXTENSION) or {}).items() if k != RAISE}
        if settings:
            names = ", ".join(f"{name}=" for name in settings)
            raise not_on_target(
                f"this request sets {names} of the event, which cannot travel over HTTP to a deployed endpoint; "
                "it runs on the container, inprocess and function targets",
                target="url",
            )
        try:
            return self.inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # One line to act on, not httpx's and httpcore's tracebacks.
            url = f"{request.url.scheme}://{request.url.netloc.decode()}"
            raise Unreachable(
                f"nothing answers at {url} ({exc}): is `python -m pytest_lambda_container serve` running there (it "
                "says its url when it starts)? Else check the address (--lambda-url, ini lambda_url, env "
                "PYTEST_LAMBDA_URL) and the network",
                address=url,
            ) from None

    def close(self) -> None:
        self.inner.close()
