"""What every front shares: the request as the client sent it, per-call overrides, and the format protocol."""

from __future__ import annotations

import base64
import copy
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote

from ..headers import forwarded_for

if TYPE_CHECKING:
    import httpx

    from ..responses import HttpResult

#: Lambda's documented sample values, so apps that log or check them see something plausible.
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "1234567890"
SOURCE_IP = "127.0.0.1"

#: Hop-by-hop headers: about one connection, so they end at its edge (API Gateway, ALB and Function URLs never
#: forward a client's; `serve` never passes a front's on, uvicorn framing its own answer). RFC 9110 §7.6.1's
#: connection-specific fields (Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade), and
#: Trailer, hop-by-hop in RFC 2616 §13.5.1: a whole body, as every front gives, has no trailers to announce.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as a client sent it to the front: raw path and query, headers in order and case."""

    method: str
    raw_path: str
    raw_query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = SOURCE_IP

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        return unquote(self.raw_path)

    @property
    def query(self) -> list[tuple[str, str]]:
        """Decoded query pairs, repeats kept, in order."""
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The last value of a header, matched case-insensitively."""
        lowered = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == lowered:
                return value
        return default

    def forwarded_headers(
        self, *, keep_connection: bool = False, dropped: frozenset[str] = frozenset()
    ) -> list[tuple[str, str]]:
        """Headers a front passes on: the client's, less Host, hop-by-hop ones (ALB keeps Connection), `dropped`
        ones, and X-Forwarded-For, which the front passes on with the client's address appended (`edge_headers`)."""
        gone = (HOP_BY_HOP - {"connection"} if keep_connection else HOP_BY_HOP) | dropped | {"host", "x-forwarded-for"}
        return [(k, v) for k, v in self.headers if k.lower() not in gone]

    def forwarded_for(self) -> str:
        """X-Forwarded-For as the front passes it on: the client's chain with its address appended."""
        return forwarded_for((v for k, v in self.headers if k.lower() == "x-forwarded-for"), self.source_ip)

    @classmethod
    def from_httpx(cls, request: httpx.Request, *, source_ip: str = SOURCE_IP) -> HttpRequest:
        """Take an `httpx.Request` apart; the body is read if it was not yet."""
        raw = request.url.raw_path.decode("ascii")
        raw_path, _, raw_query = raw.partition("?")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
        return cls(
            method=request.method.upper(),
            raw_path=raw_path or "/",
            raw_query=raw_query,
            headers=headers,
            body=request.read(),
            source_ip=source_ip,
        )


@dataclass(frozen=True)
class EventOptions:
    """Per-call parts of an event that apps read and tests want to set."""

    #: Deep-merged into the generated `requestContext` (authorizer claims, identity, stage, ...).
    request_context: Mapping[str, Any] | None = None
    stage_variables: Mapping[str, str] | None = None
    path_parameters: Mapping[str, str] | None = None
    #: REST only: the API Gateway resource that matched (default `/{proxy+}`, a greedy proxy).
    resource: str | None = None
    #: The stage name (REST default `test`; HTTP API and Function URLs use `$default`).
    stage: str | None = None
    #: Extra top-level keys merged last, for anything else.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The AWS region in ARNs and domain names (default us-east-1); the plugin passes `--lambda-region`.
    region: str | None = None
    #: REST only: the API's `binaryMediaTypes` (e.g. `["*/*"]`, `["image/png"]`); none by default, as on AWS.
    binary_media_types: Sequence[str] | None = None

    @property
    def aws_region(self) -> str:
        """The region events name: `region`, or us-east-1."""
        return self.region or REGION

    def __post_init__(self) -> None:
        if isinstance(self.binary_media_types, str):
            raise ValueError(
                f"binary_media_types takes a list of media types, e.g. [{self.binary_media_types!r}], not a string"
            )

    @classmethod
    def coerce(cls, value: EventOptions | Mapping[str, Any] | None) -> EventOptions:
        """Accept an `EventOptions`, a dict of its fields, or None."""
        if value is None:
            return cls()
        if isinstance(value, EventOptions):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown event option(s) {sorted(unknown)}; expected some of {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**value)


class EventFormat(Protocol):
    """One front of a Lambda function: how it turns a request into an event and the result into a response."""

    name: str
    #: How long the front waits for the function by default, in seconds; None: as long as the function runs.
    integration_timeout: float | None
    #: The most a user may configure it to (None: no cap, or nothing to configure).
    max_integration_timeout: float | None
    #: The largest request body the front passes on (None: Lambda's own payload limit only).
    max_request_body: int | None

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        """The event this front sends for `request`."""
        ...

    def decode(
        self, result: Any, request: HttpRequest | None = None, options: EventOptions | None = None
    ) -> HttpResult:
        """The HTTP response this front makes of the function's result for `request`; raises `InvalidResponse`."""
        ...


def request_id() -> str:
    """A fresh request id, as every front gives every request."""
    return str(uuid.uuid4())


def aws_request_id() -> str:
    """An id in API Gateway's own shape (`ATfSmjLgPHcESJw=`: 11 random bytes, base64), as REST's
    `extendedRequestId` and HTTP API's `requestId` are in captured events; REST's `requestId` is a UUID."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def now_ms() -> int:
    """Milliseconds since the epoch: `requestTimeEpoch` and `timeEpoch` are in milliseconds."""
    return time.time_ns() // 1_000_000


def clf_time(epoch_ms: int) -> str:
    """Common Log Format time, as in `requestContext.requestTime`: `04/Mar/2020:19:15:17 +0000`."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def trace_id(epoch_ms: int) -> str:
    """An X-Ray trace header value like the ones fronts add."""
    return f"Root=1-{epoch_ms // 1000:08x}-{uuid.uuid4().hex[:24]}"


def edge_headers(domain: str, epoch_ms: int, request: HttpRequest, *, https: bool = True) -> list[tuple[str, str]]:
    """The headers every front adds at its edge: its own Host, a trace id, and the X-Forwarded-* trio (the client's
    X-Forwarded-For chain kept, its address appended)."""
    return [
        ("host", domain),
        ("x-amzn-trace-id", trace_id(epoch_ms)),
        ("x-forwarded-for", request.forwarded_for()),
        ("x-forwarded-port", "443" if https else "80"),
        ("x-forwarded-proto", "https" if https else "http"),
    ]


def deep_merge(base: dict[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """`base` with `override` merged in, recursively for nested dicts; neither input is changed."""
    if not override:
        return base  # the common case, on every invoke: nothing to merge, nothing to copy
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def grouped(pairs: list[tuple[str, str]], *, lower: bool = False, fold_case: bool = False) -> dict[str, list[str]]:
    """Pairs grouped by key in first-seen order, every value kept.

    `lower` lower-cases the keys; `fold_case` groups keys case-insensitively under their first spelling (header
    names are case-insensitive: `X-A` and `x-a` are one header, as fronts that keep the client's case treat them).
    """
    out: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for key, value in pairs:
        if lower:
            key = key.lower()
        elif fold_case:
            key = spelling.setdefault(key.lower(), key)
        out.setdefault(key, []).append(value)
    return out
