"""CORS as an HTTP API or a function URL configured with it answers: preflights by the front itself, the configured
headers on every answer to an allowed origin, the function's own CORS headers ignored.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html: "If you configure CORS for an API,
API Gateway automatically sends a response to preflight OPTIONS requests, even if there isn't an OPTIONS route
configured for your API. For a CORS request, API Gateway adds the configured CORS headers to the response from an
integration." "If you configure CORS for an API, API Gateway ignores CORS headers returned from your backend
integration." "To return CORS headers, your request must contain an origin header. For the OPTIONS method, your
request must contain both an origin header and an Access-Control-Request-Method header."
Function URLs take the same six fields (https://docs.aws.amazon.com/lambda/latest/dg/API_Cors.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError

#: The fronts that have a CORS configuration; on the others the function answers CORS (a REST API's mock OPTIONS
#: method is API Gateway configuration this plugin does not model).
CORS_FRONTS = ("http", "http-1.0", "function-url")
#: Largest `maxAge` a function URL takes (`Cors.MaxAge`: "Valid Range: Minimum value of 0. Maximum value of 86400").
MAX_AGE = 86400


@dataclass(frozen=True)
class Cors:
    """AWS's `CorsConfiguration` (HTTP API) and `Cors` (function URL) fields."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @property
    def configured(self) -> bool:
        """Whether any field is set: a front without a CORS configuration leaves CORS to the function."""
        return bool(
            self.allow_origins
            or self.allow_methods
            or self.allow_headers
            or self.expose_headers
            or self.max_age is not None
            or self.allow_credentials
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin for a request from `origin`: `*` when every origin is allowed, the origin
        itself when it is listed, None (no CORS headers) otherwise or without an Origin."""
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """The front's own answer's headers to a preflight from `origin`."""
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return []
        headers = [("access-control-allow-origin", allowed)]
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if self.allow_methods:
            headers.append(("access-control-allow-methods", ",".join(self.allow_methods)))
        if self.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(self.allow_headers)))
        if self.max_age is not None:
            headers.append(("access-control-max-age", str(self.max_age)))
        return headers

    def answer_headers(self, headers: Iterable[tuple[str, str]], origin: str | None) -> list[tuple[str, str]]:
        """An answer's headers as the front sends them: the function's CORS headers ignored, the configured ones
        added for an allowed origin."""
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return kept
        kept.append(("access-control-allow-origin", allowed))
        if self.allow_credentials:
            kept.append(("access-control-allow-credentials", "true"))
        if self.expose_headers:
            kept.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        return kept


#: What `allowMethods` takes: the methods the fronts serve, or `*` ("GET, POST, DELETE, or the wildcard character").
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "*"})


def parse_methods(methods: Iterable[str], source: str) -> tuple[str, ...]:
    """`allowMethods` upper-cased; a ConfigError naming `source` for anything but a method or `*`."""
    upper = tuple(method.upper() for method in methods)
    unknown = [method for method in upper if method not in METHODS]
    if unknown:
        raise ConfigError(
            f"{source}: {', '.join(unknown)} is not an HTTP method; give some of {', '.join(sorted(METHODS))}"
        )
    return upper


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    """A CORS preflight: OPTIONS with both Origin and Access-Control-Request-Method."""
    return method.upper() == "OPTIONS" and bool(origin) and bool(request_method)


def check_front(cors: Cors, front: str) -> None:
    """A ConfigError when CORS is configured for a front that has no CORS configuration (REST, ALB)."""
    if cors.configured and front not in CORS_FRONTS:
        raise ConfigError(
            f"--lambda-cors-* / ini lambda_cors_* configure CORS as an HTTP API or a function URL does; the {front} "
            "front has no such configuration (behind a REST API or an ALB your function answers CORS itself, or a "
            "REST API's mock OPTIONS method does): drop the CORS options, or use --lambda-event-format http, "
            "http-1.0 or function-url"
        )
