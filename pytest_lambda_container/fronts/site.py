"""Where a front answers: its HTTPS address and stage, as the tests' client reaches it, and what it answers to a
request for a path outside its stage.

AWS's fronts speak HTTPS at their own host (`https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`,
`https://{url_id}.lambda-url.{region}.on.aws`), so an app's `Secure` cookies come back and a redirect to a path
without the stage leaves the API. The ALB's events here are those of an HTTP listener (AWS's sample: port 80,
`x-forwarded-proto: http`), so its address is http.
"""

from __future__ import annotations

import httpx

from .events import EventFormat, EventOptions
from .events.base import API_ID
from .events.http import URL_ID
from .responses import HttpResult

#: A REST API asked for a path no resource of the stage matches, or for another stage: 403 with the
#: "Missing Authentication Token" gateway response ("Missing or incorrect stage" is a routing failure; the
#: `x-amzn-errortype` is AWS's knowledge-center table's).
#: https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
_REST_OUTSIDE = HttpResult(
    403,
    [("content-type", "application/json"), ("x-amzn-ErrorType", "MissingAuthenticationTokenException")],
    b'{"message":"Missing Authentication Token"}',
)
#: An HTTP API asked for a path outside its stage: no route matches, 404 `{"message":"Not Found"}` (as users report
#: it; not confirmed by a capture here: README).
_HTTP_OUTSIDE = HttpResult(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
OUTSIDE = {"rest": _REST_OUTSIDE, "http": _HTTP_OUTSIDE, "http-1.0": _HTTP_OUTSIDE}


def site_of(fmt: EventFormat, options: EventOptions) -> str:
    """The URL a client reaches the front `fmt` at, its stage included (no trailing slash)."""
    region = options.aws_region
    if fmt.name in ("alb", "alb-multi"):
        return f"http://lambda-alb-123578498.{region}.elb.amazonaws.com"
    if fmt.name == "function-url":
        return f"https://{URL_ID}.lambda-url.{region}.on.aws"
    # REST's default stage is `test` here; HTTP APIs' is `$default`, which adds no path.
    stage = options.stage or getattr(fmt, "default_stage", "$default")
    prefix = "" if stage == "$default" else f"/{stage}"
    return f"https://{API_ID}.execute-api.{region}.amazonaws.com{prefix}"


def within(site: httpx.URL, request: httpx.Request) -> str | None:
    """The request's raw path (with query) relative to the front's stage, None when it is outside the stage; an
    `httpx.ConnectError` for another host, which no front of this API answers."""
    url = request.url
    if (url.scheme, url.host, url.port) != (site.scheme, site.host, site.port):
        raise httpx.ConnectError(
            f"{url.scheme}://{url.netloc.decode()}: not this API's address (its front answers at {site}); on AWS "
            "another host is another server",
            request=request,
        )
    prefix = site.raw_path.decode("ascii").rstrip("/")
    raw = url.raw_path.decode("ascii")
    path, _, query = raw.partition("?")
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        return None
    rest = path[len(prefix) :] or "/"
    return f"{rest}?{query}" if query else rest


def outside_answer(front: str) -> HttpResult | None:
    """What `front` answers to a path outside its stage (None: a front without stages has no outside)."""
    return OUTSIDE.get(front)
