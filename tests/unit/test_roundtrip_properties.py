"""Property: for every front, a request through LambdaTransport → Mangum → ASGI app and back arrives and returns intact.

The oracle is Mangum in-process (`InProcessFunction(Mangum(app))`): the app echoes what it received, or answers
with what the request asks for, and each test compares that with what the client sent or received. Where a front
itself changes the request (comma-joined repeats, last value wins on ALB without multi-value headers), the
expectation says so for that front.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_lambda_container.fronts.events import FORMATS
from pytest_lambda_container.fronts.headers import front_headers
from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.inprocess.function import InProcessFunction

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
#: Headers every front adds to what the client sent.
FRONT_ADDED = {"host", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
#: And those one front adds besides.
ADDED_BY = {"function-url": {"x-amzn-tls-version", "x-amzn-tls-cipher-suite"}}
V2 = {"http", "function-url"}


# --------------------------------------------------------------------------------------------------------------
# The app: one route echoes the request, the other answers with what the request's x-want header asks for.


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.scope["path"],
            "query": [list(pair) for pair in request.query_params.multi_items()],
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
            "cookies": request.cookies,
            "body": base64.b64encode(body).decode("ascii"),
        }
    )


async def answer(request: Request) -> Response:
    want = json.loads(base64.urlsafe_b64decode(request.headers["x-want"]))
    response = Response(
        content=base64.b64decode(want["body"]), status_code=want["status"], media_type=want["media_type"]
    )
    for name, value in want["headers"]:
        response.raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
    for cookie in want["cookies"]:
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return response


app = Starlette(routes=[Route("/answer", answer, methods=METHODS), Route("/echo/{rest:path}", echo, methods=METHODS)])
#: The REST API is configured for binary both ways (`binaryMediaTypes: */*`), as an API serving an ASGI app's bytes
#: must be; without it a REST API mangles binary bodies on AWS (see test_fronts).
OPTIONS = {"rest": {"binary_media_types": ["*/*"]}}


@contextmanager
def client_of(fmt: str) -> Iterator[httpx.Client]:
    """A client and function of their own for one example: a client shared between tests or examples would send
    the cookies an earlier one was answered with (httpx keeps a cookie jar), so the result would depend on order."""
    function = InProcessFunction(Mangum(app, lifespan="off"))
    transport = LambdaTransport(function, event_format=fmt, options=OPTIONS.get(fmt))
    try:
        with httpx.Client(transport=transport, base_url="http://lambda") as client:
            yield client
    finally:
        function.close()


# --------------------------------------------------------------------------------------------------------------
# Strategies.

TEXT = st.characters(blacklist_categories=("Cs", "Cc"))
TEXT_NO_PERCENT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="%")
HEADER_VALUE = (
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12).map(str.strip).filter(bool)
)
SUB_DELIMS = "!$&'()*+,;=:@"


@st.composite
def paths(draw: st.DrawFn, *, percent: bool) -> tuple[str, str]:
    """`(raw path, decoded path)`: unicode, reserved and percent-encoded segments under /echo/."""
    alphabet = TEXT if percent else TEXT_NO_PERCENT
    segment = st.text(alphabet, min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
    segments = draw(st.lists(segment, min_size=1, max_size=4))
    raw = [quote(s, safe=draw(st.sampled_from(["", SUB_DELIMS, "~"]))) for s in segments]
    return "/echo/" + "/".join(raw), "/echo/" + "/".join(segments)


def quote_all(text: str) -> str:
    """Percent-encode everything but unreserved characters (a space is %20, not +)."""
    return quote(text, safe="")


#: Both ways clients encode a query: form style (space → +) and strict percent-encoding.
QUERY_ENCODERS: list[Callable[[str], str]] = [quote_plus, quote_all]


@st.composite
def queries(draw: st.DrawFn, *, one_spelling_per_key: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """`(raw query, decoded pairs)`: repeated keys, unicode and reserved characters, blank values.

    ALB passes keys still encoded, so `+` and `%20` are two keys to it, which Mangum then merges into one
    (and keeps one list of the two): behind ALB each key keeps one spelling, as real clients' keys do.
    """
    keys = draw(st.lists(st.text(TEXT, min_size=1, max_size=5), min_size=1, max_size=3, unique=True))
    pairs = draw(st.lists(st.tuples(st.sampled_from(keys), st.text(TEXT, max_size=6)), max_size=6))
    spelling = {key: draw(st.sampled_from(QUERY_ENCODERS)) for key in keys}
    parts = []
    for key, value in pairs:
        encode = draw(st.sampled_from(QUERY_ENCODERS))
        encoded_key = spelling[key](key) if one_spelling_per_key else encode(key)
        if value == "" and draw(st.booleans()):
            parts.append(encoded_key)  # a bare key: `?flag`
        else:
            parts.append(f"{encoded_key}={encode(value)}")
    return "&".join(parts), pairs


@st.composite
def header_lists(draw: st.DrawFn, prefix: str) -> list[tuple[str, str]]:
    """Headers with repeats, interleaved; one spelling per name (mixed case is tested on its own, below)."""
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{2,6}", fullmatch=True), min_size=1, max_size=3, unique=True))
    spell = draw(st.sampled_from([str.lower, str.title, str.upper]))
    names = [spell(prefix + name) for name in names]
    return draw(st.lists(st.tuples(st.sampled_from(names), HEADER_VALUE), max_size=6))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
BODIES = st.one_of(
    st.just((b"", None)),
    st.tuples(JSON_VALUES, st.booleans()).map(
        lambda v: (json.dumps(v[0], ensure_ascii=v[1]).encode(), "application/json")
    ),
    st.lists(st.tuples(st.text(TEXT, max_size=5), st.text(TEXT, max_size=5)), max_size=4).map(
        lambda pairs: (urlencode(pairs).encode(), "application/x-www-form-urlencoded")
    ),
    st.binary(min_size=1, max_size=200).map(lambda b: (b, "application/octet-stream")),
    st.text(TEXT, min_size=1, max_size=30).map(lambda t: (t.encode(), "text/plain; charset=utf-8")),
)
COOKIES = st.dictionaries(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9._-]{0,8}", fullmatch=True),
    max_size=3,
)


# --------------------------------------------------------------------------------------------------------------
# Expectations per front.


def grouped(pairs: list[tuple[str, str]], *, lower: bool = False) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key.lower() if lower else key, []).append(value)
    return out


def expected_query(fmt: str, pairs: list[tuple[str, str]]) -> list[list[str]]:
    """What the app's query_params.multi_items() should be behind `fmt`."""
    if fmt in V2:
        return [list(p) for p in pairs]  # rawQueryString: exactly as sent, in order
    groups = grouped(pairs)
    if fmt == "alb":
        return [[k, values[-1]] for k, values in groups.items()]  # ALB without multi-value: the last value wins
    return [[k, v] for k, values in groups.items() for v in values]  # a map of lists: grouped per key


def expected_headers(fmt: str, sent: list[tuple[str, str]]) -> dict[str, list[str]]:
    """What the app should see of the client's headers behind `fmt` (name → values)."""
    dropped = (HOP_BY_HOP - {"connection"} if fmt.startswith("alb") else HOP_BY_HOP) | {"host"}  # ALB keeps it
    if fmt == "rest":
        dropped |= {"content-length"}  # REST events carry none
    groups = grouped([(k, v) for k, v in sent if k.lower() not in dropped], lower=True)
    if fmt in ("rest", "http-1.0"):
        return {k: [", ".join(v)] for k, v in groups.items()}  # Mangum joins multiValueHeaders with ", "
    if fmt in V2:
        return {k: [",".join(v)] for k, v in groups.items()}  # payload 2.0 joins repeats with ","
    if fmt == "alb":
        return {k: [v[-1]] for k, v in groups.items()}
    return groups  # alb-multi: every value, separately


def received_headers(pairs: list[list[str]]) -> dict[str, list[str]]:
    return grouped([(k, v) for k, v in pairs], lower=True)


# --------------------------------------------------------------------------------------------------------------
# Properties.

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("fmt", list(FORMATS))
@PROPERTY
@given(data=st.data())
def test_the_app_receives_exactly_the_request(fmt: str, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(METHODS), label="method")
    raw_path, path = data.draw(paths(percent=fmt.startswith("alb")), label="path")
    raw_query, pairs = data.draw(queries(one_spelling_per_key=fmt.startswith("alb")), label="query")
    headers = data.draw(header_lists("x-h-"), label="headers")
    cookies = data.draw(COOKIES, label="cookies")
    body, content_type = (b"", None) if method == "HEAD" else data.draw(BODIES, label="body")
    if content_type:
        headers.append(("Content-Type", content_type))
    if cookies:
        headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))

    url = raw_path + ("?" + raw_query if raw_query else "")
    with client_of(fmt) as client:
        request = client.build_request(method, url, headers=headers, content=body)
        assert request.url.raw_path == url.encode("ascii")  # httpx sends the URL as we wrote it
        response = client.send(request)
    assert response.status_code == 200, response.text
    if method == "HEAD":
        return  # a HEAD answer has no body to read the echo from; see test_head_response_has_no_body
    seen = response.json()

    assert seen["method"] == method
    assert seen["path"] == path
    assert seen["query"] == expected_query(fmt, pairs)
    assert base64.b64decode(seen["body"]) == body
    assert seen["cookies"] == cookies
    sent = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
    want = expected_headers(fmt, sent)
    got = received_headers(seen["headers"])
    assert {k: got.get(k) for k in want} == want
    assert set(got) == set(want) | FRONT_ADDED | ADDED_BY.get(fmt, set())
    assert got["x-forwarded-for"] == ["127.0.0.1"]


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """What the app is asked to answer: status, repeated headers, Set-Cookies, a (binary) body."""
    status = draw(st.sampled_from([200, 201, 202, 204, 301, 302, 400, 401, 403, 404, 409, 418, 422, 429, 500, 503]))
    media_type = draw(
        st.sampled_from(["application/octet-stream", "application/json", "image/png", "text/plain; charset=utf-8"])
    )
    body = b"" if status == 204 else draw(st.binary(max_size=300))
    names = draw(st.lists(st.from_regex(r"x-r-[a-z]{3,6}", fullmatch=True), min_size=1, max_size=3, unique=True))
    headers = draw(st.lists(st.tuples(st.sampled_from(names), HEADER_VALUE), max_size=6))
    cookie_names = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), max_size=3, unique=True))
    attributes = st.sampled_from(
        ["", "; Path=/", "; HttpOnly; Secure", "; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "; Max-Age=60"]
    )
    cookies = [
        f"{name}={draw(st.from_regex(r'[A-Za-z0-9]{0,8}', fullmatch=True))}{draw(attributes)}" for name in cookie_names
    ]
    return {
        "status": status,
        "media_type": media_type,
        "headers": headers,
        "cookies": cookies,
        "body": base64.b64encode(body).decode("ascii"),
    }


def want_header(want: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(want).encode()).decode("ascii")


@pytest.mark.parametrize("fmt", list(FORMATS))
@PROPERTY
@given(method=st.sampled_from(METHODS), want=answers())
def test_the_client_receives_exactly_the_response(fmt: str, method: str, want: dict[str, Any]) -> None:
    with client_of(fmt) as client:
        response = client.request(method, "/answer", headers={"x-want": want_header(want)})

    assert response.status_code == want["status"]
    groups = grouped(want["headers"])
    if fmt in V2:
        # Payload 2.0 has no multi-value headers: repeats come back comma-joined (cookies excepted).
        groups = {k: [",".join(v)] for k, v in groups.items()}
    for name, values in groups.items():
        assert response.headers.get_list(name) == values, name
    assert response.headers.get_list("set-cookie") == want["cookies"]
    assert response.headers.get_list("content-type") == [want["media_type"]]
    # The fronts' own request-id headers (fronts/headers.py) come on top of the app's.
    own = {name for name, _ in front_headers(fmt, response.extensions["lambda_event"])}
    assert set(response.headers) <= set(groups) | {"set-cookie", "content-type", "content-length"} | {
        name.lower() for name in own
    }
    if method != "HEAD":
        body = base64.b64decode(want["body"])
        assert response.content == body
        if "content-length" in response.headers:
            assert response.headers["content-length"] == str(len(body))


# --------------------------------------------------------------------------------------------------------------
# Cases found by the properties, pinned down one by one.


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_head_response_has_no_body(fmt: str) -> None:
    want = {"status": 200, "media_type": "text/plain; charset=utf-8", "headers": [], "cookies": [], "body": "aGk="}
    with client_of(fmt) as client:
        response = client.head("/answer", headers={"x-want": want_header(want)})
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "fmt",
    [
        "rest",
        # http: HTTP API itself delivers a decoded path (and Mangum decodes again, on AWS too), so there is
        # no faithful expectation to hold the builder to; function-url: unverified, see the report.
        "alb",
        "alb-multi",
    ],
)
def test_a_literal_percent_in_the_path_is_decoded_once(fmt: str) -> None:
    with client_of(fmt) as client:
        response = client.get("/echo/a%2541/100%25")
    assert response.json()["path"] == "/echo/a%41/100%"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_repeats_of_a_header_in_mixed_case_are_one_header(fmt: str) -> None:
    sent = [("X-Multi", "a"), ("x-multi", "b"), ("X-MULTI", "c")]
    with client_of(fmt) as client:
        seen = received_headers(client.get("/echo/x", headers=sent).json()["headers"])
    assert seen["x-multi"] == expected_headers(fmt, sent)["x-multi"]
