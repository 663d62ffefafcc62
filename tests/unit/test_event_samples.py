"""Our events, key by key, against AWS's own sample events, plus the traps that bite "almost right" events.

The samples in tests/data/aws-samples are the aws-sam-cli wheel's bundled events (mustache templates: a
`{{{name}}}` placeholder is a string). Every difference between our event and the sample is either equal in
structure and value type, or listed below in a commented allow-list; nothing is compared loosely.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest

from pytest_lambda_container.fronts.events import (
    FORMATS,
    EventOptions,
    HttpRequest,
    eventbridge_event,
    s3_event,
    scheduled_event,
    sns_event,
    sqs_event,
)
from pytest_lambda_container.fronts.transport import LambdaTransport, make_invoke
from pytest_lambda_container.inprocess.function import InProcessFunction

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "aws-samples"


def sample(name: str) -> dict[str, Any]:
    """An AWS sample event; its `{{{...}}}` placeholders stay strings, the type they render to."""
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


# --------------------------------------------------------------------------------------------------------------
# The comparison: structure and value types, key by key; differences only where a rule names the exact path.
# Paths are dotted, `[]` stands for every list element and `*` for every value of a free map.


@dataclass
class Rules:
    #: Maps whose keys are user data (headers, query, attributes): our keys need not be the sample's, but
    #: every value of ours must have the shape of the sample's values.
    free: frozenset[str] = frozenset()
    #: Sample keys our event may lack, each with the reason.
    missing_ok: Mapping[str, str] = field(default_factory=dict)
    #: Keys our event may have that the sample lacks, each with the reason.
    extra_ok: Mapping[str, str] = field(default_factory=dict)
    #: Paths where our value may have other types than the sample's, each with the reason.
    types: Mapping[str, tuple[tuple[type, ...], str]] = field(default_factory=dict)


def shape_diff(ours: Any, theirs: Any, rules: Rules, path: str = "") -> list[str]:
    """Every structural difference between our event and the sample that `rules` does not allow."""
    if path in rules.types:
        allowed, _why = rules.types[path]
        if not isinstance(ours, allowed):
            return [f"{path or '<root>'}: {type(ours).__name__} is not one of {[t.__name__ for t in allowed]}"]
        if not isinstance(theirs, dict) or not isinstance(ours, dict):
            return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: ours is {type(ours).__name__}, the sample has an object"]
        if path in rules.free:
            template = next(iter(theirs.values()), None)
            if template is None:
                return []
            return [d for key in ours for d in shape_diff(ours[key], template, rules, f"{path}.*")]
        problems = []
        for key in theirs:
            sub = f"{path}.{key}" if path else key
            if key not in ours:
                if sub not in rules.missing_ok:
                    problems.append(f"{sub}: missing from ours")
                continue
            problems += shape_diff(ours[key], theirs[key], rules, sub)
        for key in ours:
            sub = f"{path}.{key}" if path else key
            if key not in theirs and sub not in rules.extra_ok:
                problems.append(f"{sub}: ours has it, the sample does not")
        return problems
    if isinstance(theirs, list):
        if not isinstance(ours, list):
            return [f"{path}: ours is {type(ours).__name__}, the sample has a list"]
        if not theirs:
            return []
        return [d for item in ours for d in shape_diff(item, theirs[0], rules, f"{path}[]")]
    if theirs is None:
        # The sample shows null (e.g. unused identity fields); ours must be null too unless a rule says so.
        return [] if ours is None else [f"{path}: ours is {ours!r}, the sample has null"]
    if type(ours) is not type(theirs):
        return [f"{path}: ours is {type(ours).__name__} {ours!r}, the sample has {type(theirs).__name__}"]
    return []


def test_shape_diff_catches_differences() -> None:
    """The comparison itself: a missing key, an extra key, a wrong type and a wrong list element are reported."""
    theirs = {"a": "{{{x}}}", "b": {"c": 1}, "d": [True], "e": None}
    ours = {"a": 1, "b": {"c": 1, "z": 2}, "d": [True, "no"], "e": "x"}
    assert shape_diff(ours, theirs, Rules()) == [
        "a: ours is int 1, the sample has str",
        "b.z: ours has it, the sample does not",
        "d[]: ours is str 'no', the sample has bool",
        "e: ours is 'x', the sample has null",
    ]
    assert shape_diff({}, theirs, Rules()) == [f"{k}: missing from ours" for k in "abde"]


# --------------------------------------------------------------------------------------------------------------
# HTTP fronts. Each request carries what the sample's client sent, so header and query keys compare too.

#: What the client behind AwsProxy.json sent (the rest of its headers are added by CloudFront / API Gateway).
REST_CLIENT_HEADERS = (
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"),
    ("Accept-Encoding", "gzip, deflate, sdch"),
    ("Accept-Language", "en-US,en;q=0.8"),
    ("Cache-Control", "max-age=0"),
    ("Upgrade-Insecure-Requests", "1"),
    ("User-Agent", "Custom User Agent String"),
)
#: What the client behind ALBRequest.json sent.
ALB_CLIENT_HEADERS = (
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8"),
    ("accept-encoding", "gzip"),
    ("accept-language", "en-US,en;q=0.9"),
    ("connection", "keep-alive"),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/71.0.3578.98 Safari/537.36"),
)

#: Headers an edge-optimized REST endpoint gets from CloudFront; regional endpoints (what we model) have none.
CLOUDFRONT = (
    "CloudFront-Forwarded-Proto",
    "CloudFront-Is-Desktop-Viewer",
    "CloudFront-Is-Mobile-Viewer",
    "CloudFront-Is-SmartTV-Viewer",
    "CloudFront-Is-Tablet-Viewer",
    "CloudFront-Viewer-Country",
    "Via",
    "X-Amz-Cf-Id",
)
REST_RULES = Rules(
    free=frozenset({"pathParameters", "stageVariables", "multiValueQueryStringParameters"}),
    missing_ok={
        **{f"headers.{h}": "CloudFront adds it on edge-optimized endpoints only" for h in CLOUDFRONT},
        **{f"multiValueHeaders.{h}": "CloudFront adds it on edge-optimized endpoints only" for h in CLOUDFRONT},
    },
    extra_ok={
        "headers.X-Amzn-Trace-Id": "API Gateway adds an X-Ray trace header; the 2015 sample predates X-Ray",
        "multiValueHeaders.X-Amzn-Trace-Id": "as headers.X-Amzn-Trace-Id",
        "requestContext.domainName": "current REST events name the API's domain; the sample predates it",
        "requestContext.domainPrefix": "as requestContext.domainName",
        "requestContext.extendedRequestId": "current REST events carry it; the sample predates it",
        "requestContext.identity.principalOrgId": "current REST events carry it (null without IAM auth)",
    },
    types={
        # The sample's value is the placeholder "{{{querystringparameters}}}", rendered as a JSON object.
        "queryStringParameters": ((dict,), "a placeholder standing for the query map"),
    },
)
# headers/multiValueHeaders are compared key by key: after the allow-list, ours must have exactly the
# sample's names (the same client headers went in, and the front adds Host and X-Forwarded-*).

HTTP_RULES = Rules(
    free=frozenset({"pathParameters", "stageVariables"}),
    missing_ok={
        "requestContext.authentication": "only present with mutual TLS (a client certificate)",
    },
    extra_ok={
        # The sample's headers are Header1/Header2; our request's headers (and the front's) are listed below.
        **{
            f"headers.{h}": "a header of our request or one the front adds"
            for h in (
                "accept",
                "user-agent",
                "host",
                "x-amzn-trace-id",
                "x-forwarded-for",
                "x-forwarded-port",
                "x-forwarded-proto",
            )
        },
    },
)
FUNCTION_URL_RULES = Rules(
    free=HTTP_RULES.free,
    missing_ok={
        **HTTP_RULES.missing_ok,
        "pathParameters": "function URLs have no routes, so no path parameters",
        "stageVariables": "function URLs have no stages, so no stage variables",
    },
    extra_ok={
        **HTTP_RULES.extra_ok,
        # Captured function URL events keep the cookie header and add the client's TLS (see test_fronts).
        "headers.cookie": "function URLs keep the cookie header next to the cookies array",
        "headers.x-amzn-tls-version": "function URLs add the client's TLS version",
        "headers.x-amzn-tls-cipher-suite": "function URLs add the client's cipher suite",
    },
)
ALB_RULES = Rules(
    missing_ok={
        # ALB forwards the client's Connection header (the sample shows it); we drop hop-by-hop headers, which
        # no app should read. See test_alb_forwards_connection_header.
        "headers.connection": "hop-by-hop; see test_alb_forwards_connection_header",
        "headers.x-imforwards": "in AWS's sample but undocumented (an ALB-internal header); apps do not read it",
    },
    extra_ok={},
)


def multi_value_sample(alb: dict[str, Any]) -> dict[str, Any]:
    """ALBRequest.json as ALB sends it with multi-value headers on: the same request, values in lists."""
    out = dict(alb)
    out["multiValueQueryStringParameters"] = {k: [v] for k, v in out.pop("queryStringParameters").items()}
    out["multiValueHeaders"] = {k: [v] for k, v in out.pop("headers").items()}
    return out


def build(fmt: str, request: HttpRequest, **options: Any) -> dict[str, Any]:
    event = FORMATS[fmt].build(request, EventOptions(**options))
    json.dumps(event)  # on the wire every event is JSON
    return event


def test_rest_matches_aws_proxy_sample() -> None:
    theirs = sample("AwsProxy.json")
    ours = build(
        "rest",
        HttpRequest("POST", "/path/to/resource", "foo=bar", REST_CLIENT_HEADERS, b"\xff\x00binary"),
        stage_variables={"baz": "qux"},
        binary_media_types=["*/*"],  # a binary body arrives base64-encoded only where the API lists its type
    )
    assert shape_diff(ours, theirs, REST_RULES) == []
    # Request-derived values equal the sample's where the sample is concrete.
    assert ours["multiValueQueryStringParameters"] == theirs["multiValueQueryStringParameters"]
    assert ours["queryStringParameters"] == {"foo": "bar"}
    assert ours["stageVariables"] == theirs["stageVariables"]
    assert ours["isBase64Encoded"] is True
    assert base64.b64decode(ours["body"]) == b"\xff\x00binary"
    assert ours["resource"] == ours["requestContext"]["resourcePath"] == "/{proxy+}"
    # The sample's "/{{{path}}}" has a leading slash; a greedy {proxy+} variable does not include it.
    assert ours["pathParameters"] == {"proxy": "path/to/resource"}
    assert ours["headers"]["X-Forwarded-Port"] == theirs["headers"]["X-Forwarded-Port"]
    assert ours["headers"]["X-Forwarded-Proto"] == theirs["headers"]["X-Forwarded-Proto"]
    for name, value in REST_CLIENT_HEADERS:
        assert ours["headers"][name] == value
        assert ours["multiValueHeaders"][name] == [value]
    identity = ours["requestContext"]["identity"]
    assert identity["userAgent"] == theirs["requestContext"]["identity"]["userAgent"]
    assert identity["sourceIp"] == "127.0.0.1"
    assert ours["requestContext"]["protocol"] == theirs["requestContext"]["protocol"]


@pytest.mark.parametrize("fmt", ["http", "function-url"])
def test_payload_v2_matches_http_api_sample(fmt: str) -> None:
    theirs = sample("HttpApi.json")
    request = HttpRequest(
        "POST",
        "/my/path",
        "parameter1=value1&parameter1=value2&parameter2=value",
        (
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Cookie", "cookie1; cookie2"),
            ("Header2", "value2"),
            ("User-Agent", "agent"),
            ("Accept", "*/*"),
        ),
        b"\xff\xfebinary",
    )
    options: dict[str, Any] = {"request_context": {"authorizer": theirs["requestContext"]["authorizer"]}}
    if fmt == "http":
        options.update(path_parameters={"parameter1": "value1"}, stage_variables=theirs["stageVariables"])
    ours = build(fmt, request, **options)
    rules = HTTP_RULES if fmt == "http" else FUNCTION_URL_RULES
    # Payload 2.0 lower-cases header names (AWS: "All headernames are lowercased"); the sample's
    # Header1/Header2 predate that, so compare the sample's headers lower-cased.
    theirs["headers"] = {k.lower(): v for k, v in theirs["headers"].items()}
    assert shape_diff(ours, theirs, rules) == []
    for key in ("version", "routeKey", "rawQueryString", "cookies", "headers", "queryStringParameters"):
        if key == "headers":
            assert {k: ours["headers"][k] for k in theirs["headers"]} == theirs["headers"]
        else:
            assert ours[key] == theirs[key], key
    assert ours["requestContext"]["authorizer"] == theirs["requestContext"]["authorizer"]
    assert ours["requestContext"]["http"]["userAgent"] == "agent"
    assert ours["requestContext"]["http"]["protocol"] == "HTTP/1.1"
    assert ours["requestContext"]["routeKey"] == "$default"
    if fmt == "http":
        assert ours["pathParameters"] == theirs["pathParameters"]
        assert ours["stageVariables"] == theirs["stageVariables"]


@pytest.mark.parametrize("fmt", ["alb", "alb-multi"])
def test_alb_matches_alb_sample(fmt: str) -> None:
    theirs = sample("ALBRequest.json")
    if fmt == "alb-multi":
        # With multi-value headers on, ALB sends multiValueHeaders / multiValueQueryStringParameters *instead
        # of* headers / queryStringParameters (the same request, every value in a list).
        theirs = multi_value_sample(theirs)
    ours = build(fmt, HttpRequest("POST", "/lambda", "query=1234ABCD", ALB_CLIENT_HEADERS, b"\x89PNG\r\n"))
    assert shape_diff(ours, theirs, ALB_RULES if fmt == "alb" else multi_rules(ALB_RULES)) == []
    headers_key = "headers" if fmt == "alb" else "multiValueHeaders"
    query_key = "queryStringParameters" if fmt == "alb" else "multiValueQueryStringParameters"
    assert ours[query_key] == theirs[query_key]
    for name in (
        "accept",
        "accept-encoding",
        "accept-language",
        "upgrade-insecure-requests",
        "x-forwarded-port",
        "x-forwarded-proto",
    ):
        assert ours[headers_key][name] == theirs[headers_key][name], name
    assert "headers" not in ours if fmt == "alb-multi" else "multiValueHeaders" not in ours
    assert ours["isBase64Encoded"] is True


def multi_rules(rules: Rules) -> Rules:
    """ALB rules for the multi-value variant: the same allowances under multiValueHeaders."""

    def rename(key: str) -> str:
        return key.replace("headers.", "multiValueHeaders.", 1) if key.startswith("headers.") else key

    return Rules(
        free=rules.free,
        missing_ok={rename(k): v for k, v in rules.missing_ok.items()},
        extra_ok={rename(k): v for k, v in rules.extra_ok.items()},
        types=rules.types,
    )


def test_alb_forwards_connection_header() -> None:
    ours = build("alb", HttpRequest("GET", "/", "", ALB_CLIENT_HEADERS))
    assert ours["headers"]["connection"] == "keep-alive"


# --------------------------------------------------------------------------------------------------------------
# The known traps, per front.


def test_rest_has_resource_and_request_context_and_no_version() -> None:
    event = build("rest", HttpRequest("GET", "/"))
    assert {"resource", "requestContext"} <= event.keys()
    assert "version" not in event
    assert event["resource"] == "/"
    assert event["pathParameters"] is None
    # Empty maps are null in REST events, not {} (and Mangum copes with both).
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("fmt", ["http", "function-url"])
def test_v2_has_version_dict_headers_string_raw_query_and_http_context(fmt: str) -> None:
    event = build(fmt, HttpRequest("DELETE", "/items/1"))
    assert event["version"] == "2.0"
    assert isinstance(event["headers"], dict)
    assert event["rawQueryString"] == ""
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"]) == ("DELETE", "/items/1", "127.0.0.1")
    # AWS leaves out what a request did not have.
    for absent in ("cookies", "queryStringParameters", "body", "pathParameters", "stageVariables"):
        assert absent not in event, absent
    assert event["isBase64Encoded"] is False
    assert "resource" not in event and "httpMethod" not in event


@pytest.mark.parametrize("fmt", ["alb", "alb-multi"])
def test_alb_is_recognised_by_request_context_elb(fmt: str) -> None:
    event = build(fmt, HttpRequest("GET", "/"))
    assert event["requestContext"]["elb"]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
    assert "version" not in event and "resource" not in event
    # ALB sends an empty string body and false, never null, for an empty body.
    assert event["body"] == ""
    assert event["isBase64Encoded"] is False


def test_rest_identity_is_never_null() -> None:
    """Mangum reads requestContext.identity.sourceIp: a null identity crashes it."""
    bare = build("rest", HttpRequest("GET", "/", headers=()))
    assert isinstance(bare["requestContext"]["identity"], dict)
    assert bare["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    merged = build("rest", HttpRequest("GET", "/"), request_context={"identity": {"cognitoIdentityId": "abc"}})
    assert merged["requestContext"]["identity"]["cognitoIdentityId"] == "abc"
    assert merged["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


EPOCH_KEYS = {
    "rest": ("requestTimeEpoch", "requestTime"),
    "http": ("timeEpoch", "time"),
    "function-url": ("timeEpoch", "time"),
}


@pytest.mark.parametrize("fmt", list(EPOCH_KEYS))
def test_every_build_gets_a_fresh_request_id_and_time_in_milliseconds(fmt: str) -> None:
    epoch_key, time_key = EPOCH_KEYS[fmt]
    request = HttpRequest("GET", "/")
    before = time.time() * 1000
    first = build(fmt, request)["requestContext"]
    time.sleep(0.005)
    second = build(fmt, request)["requestContext"]
    after = time.time() * 1000
    assert first["requestId"] != second["requestId"]
    if fmt == "http":  # an HTTP API's id has API Gateway's own shape (see test_fronts)
        assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", first["requestId"])
    else:
        uuid.UUID(first["requestId"])
    for ctx in (first, second):
        assert isinstance(ctx[epoch_key], int)
        # Milliseconds: within the test's own window (seconds would be 1000 times smaller).
        assert before - 1 <= ctx[epoch_key] <= after + 1
        shown = datetime.strptime(ctx[time_key], "%d/%b/%Y:%H:%M:%S %z")
        assert shown == datetime.fromtimestamp(ctx[epoch_key] // 1000, tz=timezone.utc)
    assert second[epoch_key] > first[epoch_key]
    if fmt == "rest":
        assert first["extendedRequestId"] != second["extendedRequestId"]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_build_gets_a_fresh_trace_id(fmt: str) -> None:
    def trace(event: dict[str, Any]) -> str:
        headers = event.get("headers") or {k: v[-1] for k, v in event["multiValueHeaders"].items()}
        return str(next(v for k, v in headers.items() if k.lower() == "x-amzn-trace-id"))

    request = HttpRequest("GET", "/")
    first, second = trace(build(fmt, request)), trace(build(fmt, request))
    assert first != second
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", first)
    assert abs(int(first.split("-")[1], 16) - time.time()) < 60


def test_rest_request_context_path_is_the_real_request_path() -> None:
    event = build("rest", HttpRequest("GET", "/items/42"))
    assert event["path"] == "/items/42"
    assert event["requestContext"]["path"] == "/test/items/42"  # the stage prefix, then the request path
    assert event["requestContext"]["resourcePath"] == "/{proxy+}"  # not to be confused with the resource
    staged = build("rest", HttpRequest("GET", "/items/42"), stage="prod")
    assert staged["requestContext"]["path"] == "/prod/items/42"
    assert staged["requestContext"]["stage"] == "prod"


def test_rest_path_keeps_percent_encoding() -> None:
    event = build("rest", HttpRequest("GET", "/files/100%25%20done"))
    assert event["path"] == "/files/100%25%20done"


@pytest.mark.parametrize("fmt", ["http", "function-url"])
def test_v2_repeated_headers_are_comma_joined_never_dropped(fmt: str) -> None:
    request = HttpRequest(
        "GET", "/", headers=(("X-Multi", "a"), ("Accept", "*/*"), ("x-multi", "b"), ("X-MULTI", "c, d"))
    )
    headers = build(fmt, request)["headers"]
    assert headers["x-multi"] == "a,b,c, d"
    assert all(name == name.lower() for name in headers)


@pytest.mark.parametrize("fmt", ["rest", "alb-multi"])
def test_v1_repeated_headers_keep_every_value(fmt: str) -> None:
    request = HttpRequest("GET", "/", headers=(("X-Multi", "a"), ("Accept", "*/*"), ("X-Multi", "b")))
    event = build(fmt, request)
    name = "X-Multi" if fmt == "rest" else "x-multi"
    assert event["multiValueHeaders"][name] == ["a", "b"]
    if fmt == "rest":
        assert event["headers"][name] == "b"  # the single-value view: the last value, as API Gateway does


def test_rest_groups_header_names_case_insensitively() -> None:
    request = HttpRequest("GET", "/", headers=(("X-Multi", "a"), ("x-multi", "b")))
    event = build("rest", request)
    assert [v for k, vs in event["multiValueHeaders"].items() if k.lower() == "x-multi" for v in vs] == ["a", "b"]
    assert len([k for k in event["headers"] if k.lower() == "x-multi"]) == 1


def test_alb_single_value_keeps_the_last_of_repeats() -> None:
    event = build("alb", HttpRequest("GET", "/", "k=1&k=2&j=", (("X-Multi", "a"), ("x-multi", "b"))))
    assert event["headers"]["x-multi"] == "b"
    assert event["queryStringParameters"] == {"k": "2", "j": ""}


def test_alb_passes_query_values_still_encoded() -> None:
    event = build("alb-multi", HttpRequest("GET", "/", "q=a%20b&q=%E2%9C%93&plus=a+b"))
    assert event["multiValueQueryStringParameters"] == {"q": ["a%20b", "%E2%9C%93"], "plus": ["a+b"]}


def test_rest_query_values_are_decoded_and_grouped() -> None:
    event = build("rest", HttpRequest("GET", "/", "q=a%20b&q=%E2%9C%93&flag"))
    assert event["multiValueQueryStringParameters"] == {"q": ["a b", "✓"], "flag": [""]}
    assert event["queryStringParameters"] == {"q": "✓", "flag": ""}


def test_function_url_identity() -> None:
    event = build("function-url", HttpRequest("GET", "/"))
    ctx = event["requestContext"]
    assert event["routeKey"] == ctx["routeKey"] == "$default"
    assert ctx["stage"] == "$default"
    assert ctx["accountId"] == "anonymous"
    assert re.fullmatch(r"[a-z0-9]{32,}\.lambda-url\.[a-z0-9-]+\.on\.aws", ctx["domainName"])
    assert ctx["domainPrefix"] == ctx["domainName"].split(".")[0] == ctx["apiId"]
    assert event["headers"]["host"] == ctx["domainName"]


def test_http_api_identity() -> None:
    ctx = build("http", HttpRequest("GET", "/"))["requestContext"]
    assert ctx["stage"] == "$default"
    assert re.fullmatch(r"\d{12}", ctx["accountId"])
    assert ctx["domainName"] == f"{ctx['apiId']}.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_hop_by_hop_or_client_host_headers_pass(fmt: str) -> None:
    request = HttpRequest(
        "GET", "/", headers=(("Host", "lambda"), ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"))
    )
    event = build(fmt, request)
    headers = event.get("headers") or event["multiValueHeaders"]
    names = {k.lower() for k in headers}
    # ALB alone forwards Connection (its sample event shows it); no front forwards Transfer-Encoding.
    assert not names & ({"transfer-encoding"} if fmt.startswith("alb") else {"connection", "transfer-encoding"})
    host = headers.get("Host", headers.get("host"))
    assert host not in ("lambda", ["lambda"])


OVERRIDES = EventOptions(
    request_context={"authorizer": {"claims": {"sub": "user-1", "email": "a@example.com"}}},
    stage_variables={"env": "test"},
    path_parameters={"id": "42"},
    stage="prod",
)


def test_rest_overrides_land_in_the_event() -> None:
    event = FORMATS["rest"].build(HttpRequest("GET", "/items/42"), OVERRIDES)
    ctx = event["requestContext"]
    assert ctx["authorizer"] == {"claims": {"sub": "user-1", "email": "a@example.com"}}
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"  # deep-merged, not replaced
    assert ctx["stage"] == "prod"
    assert ctx["path"] == "/prod/items/42"
    assert event["stageVariables"] == {"env": "test"}
    assert event["pathParameters"] == {"id": "42"}
    resourced = FORMATS["rest"].build(
        HttpRequest("GET", "/items/42"), EventOptions(resource="/items/{id}", path_parameters={"id": "42"})
    )
    assert resourced["resource"] == resourced["requestContext"]["resourcePath"] == "/items/{id}"
    assert resourced["pathParameters"] == {"id": "42"}


def test_http_overrides_land_in_the_event() -> None:
    options = EventOptions(
        request_context={"authorizer": {"jwt": {"claims": {"sub": "user-1"}, "scopes": None}}},
        stage_variables={"env": "test"},
        path_parameters={"id": "42"},
        stage="prod",
    )
    event = FORMATS["http"].build(HttpRequest("GET", "/items/42"), options)
    ctx = event["requestContext"]
    assert ctx["authorizer"]["jwt"]["claims"] == {"sub": "user-1"}
    assert ctx["http"]["sourceIp"] == "127.0.0.1"
    assert ctx["stage"] == "prod"
    assert event["stageVariables"] == {"env": "test"}
    assert event["pathParameters"] == {"id": "42"}


def test_request_context_override_deep_merges_without_mutating_the_options() -> None:
    claims = {"authorizer": {"claims": {"sub": "user-1"}}}
    options = EventOptions(request_context=claims)
    first = FORMATS["rest"].build(HttpRequest("GET", "/"), options)
    first["requestContext"]["authorizer"]["claims"]["sub"] = "changed"
    second = FORMATS["rest"].build(HttpRequest("GET", "/"), options)
    assert second["requestContext"]["authorizer"]["claims"]["sub"] == "user-1"
    assert claims == {"authorizer": {"claims": {"sub": "user-1"}}}


def test_overrides_per_call_through_invoke() -> None:
    """`invoke(..., request_context=..., stage_variables=...)` reaches the event the function receives."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "body": "ok"}

    client = httpx.Client(transport=LambdaTransport(InProcessFunction(handler)), base_url="http://lambda")
    invoke = make_invoke(client)
    response = invoke(
        "GET",
        "/items/42",
        {"q": ["1", "2"]},
        request_context={"authorizer": {"claims": {"sub": "user-1"}}},
        stage_variables={"env": "test"},
        path_parameters={"id": "42"},
        stage="prod",
    )
    assert response.status_code == 200
    event = seen[-1]
    assert event["requestContext"]["authorizer"]["claims"]["sub"] == "user-1"
    assert event["requestContext"]["stage"] == "prod"
    assert event["stageVariables"] == {"env": "test"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    invoke("GET", "/x", event_format="http", stage="beta")
    assert seen[-1]["version"] == "2.0" and seen[-1]["requestContext"]["stage"] == "beta"
    with pytest.raises(ValueError, match="unknown event option"):
        invoke("GET", "/x", stagevariables={"a": "b"})


# --------------------------------------------------------------------------------------------------------------
# Non-HTTP triggers.

SQS_RULES = Rules(
    free=frozenset({"Records[].messageAttributes"}),
    extra_ok={"Records[].md5OfMessageAttributes": "SQS adds it when a message has attributes"},
)
SNS_RULES = Rules(
    free=frozenset({"Records[].Sns.MessageAttributes"}),
    types={"Records[].Sns.Subject": ((str, type(None)), "SNS sends null when the publisher gave no subject")},
)
S3_RULES = Rules()
EVENTBRIDGE_RULES = Rules(
    free=frozenset({"detail"}),
    extra_ok={"version": 'every EventBridge event has version "0" (documented envelope); SAM\'s sample omits it'},
)


def test_sqs_matches_sample() -> None:
    theirs = sample("Sqs.json")
    ours = sqs_event(["plain text", {"order": 1, "items": ["a"]}], queue="orders")
    assert shape_diff(ours, theirs, SQS_RULES) == []
    first, second = ours["Records"]
    assert first["body"] == "plain text"
    assert json.loads(second["body"]) == {"order": 1, "items": ["a"]}
    for record in ours["Records"]:
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"
        assert record["eventSource"] == "aws:sqs"
        assert record["messageAttributes"] == {}
        attrs = record["attributes"]
        assert attrs.keys() == theirs["Records"][0]["attributes"].keys()
        assert abs(int(attrs["SentTimestamp"]) - time.time() * 1000) < 60_000
        assert int(attrs["ApproximateFirstReceiveTimestamp"]) >= int(attrs["SentTimestamp"])
    assert first["messageId"] != second["messageId"]
    assert first["receiptHandle"] != second["receiptHandle"]
    again = sqs_event(["plain text"], queue="orders")["Records"][0]
    assert again["messageId"] != first["messageId"]
    assert again["md5OfBody"] == first["md5OfBody"]


def test_sqs_unicode_body_md5_is_of_utf8_bytes() -> None:
    record = sqs_event(["héllo ✓"])["Records"][0]
    assert record["md5OfBody"] == hashlib.md5("héllo ✓".encode()).hexdigest()


def test_sqs_message_attributes() -> None:
    ours = sqs_event(["x"], attributes={"City": "Any City", "Population": 1250800, "Greeting": b"Hello, World!"})
    assert shape_diff(ours, sample("Sqs.json"), SQS_RULES) == []
    record = ours["Records"][0]
    assert record["messageAttributes"] == {
        "City": {"stringValue": "Any City", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "Population": {"stringValue": "1250800", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "Greeting": {
            "binaryValue": base64.b64encode(b"Hello, World!").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert re.fullmatch(r"[0-9a-f]{32}", record["md5OfMessageAttributes"])


def test_sqs_md5_of_message_attributes_agrees_with_moto() -> None:
    """Cross-check the MD5 of message attributes with moto's SQS implementation of the same algorithm."""
    models = pytest.importorskip("moto.sqs.models")
    message = models.Message("id", "x")
    message.message_attributes = {
        "City": {"DataType": "String", "StringValue": "Any City"},
        "Population": {"DataType": "Number", "StringValue": "1250800"},
        "Greeting": {"DataType": "Binary", "BinaryValue": b"Hello, World!"},
    }
    ours = sqs_event(["x"], attributes={"City": "Any City", "Population": 1250800, "Greeting": b"Hello, World!"})
    assert ours["Records"][0]["md5OfMessageAttributes"] == message.attribute_md5


def test_sqs_fifo_queue_records() -> None:
    records = sqs_event(["a", "b"], queue="jobs.fifo")["Records"]
    for record in records:
        assert {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} <= record["attributes"].keys()
    assert int(records[0]["attributes"]["SequenceNumber"]) < int(records[1]["attributes"]["SequenceNumber"])


def test_sqs_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match=r"sqs_event\(\[message\]\)"):
        sqs_event("abc")


def test_sns_matches_sample() -> None:
    theirs = sample("Sns.json")
    ours = sns_event(["hello", {"k": "v"}], topic="alerts", subject="Alarm")
    assert shape_diff(ours, theirs, SNS_RULES) == []
    first, second = ours["Records"]
    assert first["Sns"]["Message"] == "hello"
    assert json.loads(second["Sns"]["Message"]) == {"k": "v"}
    for record in ours["Records"]:
        sns = record["Sns"]
        assert sns["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:alerts"
        assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")
        assert sns["Subject"] == "Alarm"
        assert sns["Type"] == "Notification"
        assert_recent_utc(sns["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert first["Sns"]["MessageId"] != second["Sns"]["MessageId"]
    assert sns_event(["x"])["Records"][0]["Sns"]["Subject"] is None


def test_sns_message_attributes_match_sample_shape() -> None:
    ours = sns_event(["x"], attributes={"Test": "TestString", "TestBinary": b"\x00\x01", "N": 3})
    assert shape_diff(ours, sample("Sns.json"), SNS_RULES) == []
    assert ours["Records"][0]["Sns"]["MessageAttributes"] == {
        "Test": {"Type": "String", "Value": "TestString"},
        "TestBinary": {"Type": "Binary", "Value": "AAE="},
        "N": {"Type": "Number", "Value": "3"},
    }


def assert_recent_utc(text: str, fmt: str) -> None:
    """`text` is a time in `fmt`, in UTC, and it is now (within a minute), as the trigger's own stamp would be."""
    stamp = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 60, text


def test_s3_matches_sample() -> None:
    theirs = sample("S3Put.json")
    ours = s3_event(["uploads/photo.jpg", "uploads/my file (1).jpg"], bucket="media", size=2048)
    assert shape_diff(ours, theirs, S3_RULES) == []
    first, second = ours["Records"]
    assert first["eventName"] == "ObjectCreated:Put"
    assert first["s3"]["bucket"] == {
        "name": "media",
        "ownerIdentity": first["s3"]["bucket"]["ownerIdentity"],
        "arn": "arn:aws:s3:::media",
    }
    assert first["s3"]["object"]["key"] == "uploads/photo.jpg"
    # S3 URL-encodes keys in notifications (space → +); unquote_plus gives the real key back.
    assert second["s3"]["object"]["key"] == "uploads/my+file+%281%29.jpg"
    assert unquote_plus(second["s3"]["object"]["key"]) == "uploads/my file (1).jpg"
    assert first["s3"]["object"]["size"] == 2048
    assert_recent_utc(first["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert first["s3"]["object"]["sequencer"] != second["s3"]["object"]["sequencer"]


def test_s3_removed_objects_have_no_size_or_etag() -> None:
    ours = s3_event(["gone.txt"], event_name="ObjectRemoved:Delete")
    rules = Rules(
        missing_ok={
            "Records[].s3.object.size": "deletions carry no size",
            "Records[].s3.object.eTag": "deletions carry no eTag",
        }
    )
    assert shape_diff(ours, sample("S3Put.json"), rules) == []
    assert ours["Records"][0]["eventName"] == "ObjectRemoved:Delete"


def test_scheduled_event_matches_sample() -> None:
    theirs = sample("ScheduledEvent.json")
    ours = scheduled_event(rule="nightly")
    assert shape_diff(ours, theirs, EVENTBRIDGE_RULES) == []
    assert ours["detail-type"] == theirs["detail-type"] == "Scheduled Event"
    assert ours["source"] == theirs["source"] == "aws.events"
    assert ours["detail"] == {}
    assert ours["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]
    assert ours["version"] == "0"
    assert_recent_utc(ours["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert scheduled_event()["id"] != ours["id"]


def test_eventbridge_event_has_the_scheduled_envelope() -> None:
    """EventBridge events share the envelope of ScheduledEvent.json; only source, detail-type and detail vary."""
    ours = eventbridge_event({"orderId": 7, "lines": [{"sku": "a"}]}, detail_type="OrderPlaced", source="shop")
    assert shape_diff(ours, sample("ScheduledEvent.json"), EVENTBRIDGE_RULES) == []
    assert ours["detail"] == {"orderId": 7, "lines": [{"sku": "a"}]}
    assert (ours["detail-type"], ours["source"], ours["resources"]) == ("OrderPlaced", "shop", [])
    taken = {"k": [1]}
    built = eventbridge_event(taken)
    built["detail"]["x"] = 1
    assert taken == {"k": [1]}


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda: sqs_event(["a"]), id="sqs"),
        pytest.param(lambda: sns_event(["a"]), id="sns"),
        pytest.param(lambda: s3_event(["a"]), id="s3"),
        pytest.param(lambda: eventbridge_event({"a": 1}), id="eventbridge"),
        pytest.param(scheduled_event, id="scheduled"),
    ],
)
def test_triggers_are_json_and_reach_a_handler(event: Any) -> None:
    """Each trigger event survives the wire (JSON) unchanged, as `invoke_event` sends it."""
    built = event()
    assert json.loads(json.dumps(built)) == built
    echoed = InProcessFunction(lambda e, c: e).invoke_event(built)
    assert echoed == built


def test_alb_passes_query_keys_as_spelled() -> None:
    # Found by the properties: ALB does not decode, so `+` and `%20` are two keys (Mangum then merges them).
    event = build("alb-multi", HttpRequest("GET", "/", "+=0&%20=1"))
    assert event["multiValueQueryStringParameters"] == {"+": ["0"], "%20": ["1"]}
