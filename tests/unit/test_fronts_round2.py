"""What each front does around the function, second round (issue 20): REST's answer headers and number bodies, the
fronts' request-id headers, X-Forwarded-For, `;` in REST query strings.

Every test names its source, as tests/unit/test_fronts.py does; requests go through `LambdaTransport` to in-process
handlers, Mangum as the oracle where an app reads the event.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.inprocess.function import InProcessFunction

KNOWN_ISSUES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"
OK = {"statusCode": 200, "body": "ok"}


def client(handler: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        transport=LambdaTransport(InProcessFunction(handler), event_format=fmt, **kwargs), base_url="http://l"
    )


def returning(result: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    return client(lambda event, context: result, fmt, **kwargs)


def failing(event: Any, context: Any) -> Any:
    raise RuntimeError("boom")


# --------------------------------------------------------------------------------------------------------------
# REST answers


@pytest.mark.parametrize(("body", "text"), [(42, b"42"), (1.5, b"1.5"), (0, b"0")])
def test_rest_number_body_is_its_text(body: Any, text: bytes) -> None:
    """The serverless SAM farm demo API returns `"body": totalSAMs`, a number, through a REST API (aws-sam-cli#38);
    SAM CLI was changed to accept it as API Gateway does (aws-sam-cli#1124, #1263). A boolean or list body stays a
    502."""
    assert returning({"statusCode": 200, "body": body}).get("/").content == text
    for bad in (True, [1]):
        response = returning({"statusCode": 200, "body": bad}, raise_function_errors=False).get("/")
        assert response.status_code == 502


def test_rest_answer_without_content_type_gets_application_json() -> None:
    """Known-issues page: "API Gateway includes a Content-Type header for all integration responses. By default,
    the content type is application/json." A given one is kept."""
    assert returning(OK).get("/").headers.get_list("content-type") == ["application/json"]
    given = {"statusCode": 200, "headers": {"Content-Type": "text/html"}, "body": "<p>"}
    assert returning(given).get("/").headers.get_list("content-type") == ["text/html"]


def test_rest_remaps_and_drops_headers_as_its_table_says() -> None:
    """Known-issues page, the table's Response column for `lambda`: WWW-Authenticate, Authorization, Connection,
    Content-MD5, Date, Max-Forwards, Server and User-Agent are remapped to `X-Amzn-Remapped-<name>`; Expect, Host,
    Proxy-Authenticate, TE, Trailer, Transfer-Encoding, Upgrade and Via are dropped; the rest pass through."""
    headers = {
        "WWW-Authenticate": 'Bearer realm="api"',
        "Authorization": "a",
        "Date": "Mon, 01 Jan 2024 00:00:00 GMT",
        "Server": "app",
        "User-Agent": "ua",
        "Content-MD5": "m",
        "Max-Forwards": "3",
        "Via": "1.1 proxy",
        "Upgrade": "h2c",
        "Proxy-Authenticate": "Basic",
        "Age": "5",
        "X-Own": "kept",
    }
    response = returning({"statusCode": 401, "headers": headers, "body": ""}).get("/")
    assert response.headers["x-amzn-remapped-www-authenticate"] == 'Bearer realm="api"'
    assert "www-authenticate" not in response.headers
    for name in ("Authorization", "Date", "Server", "User-Agent", "Content-MD5", "Max-Forwards"):
        assert response.headers[f"x-amzn-Remapped-{name}"] == headers[name]
        assert name not in response.headers
    for name in ("Via", "Upgrade", "Proxy-Authenticate"):
        assert name not in response.headers
        assert f"x-amzn-remapped-{name}" not in response.headers
    assert (response.headers["age"], response.headers["x-own"]) == ("5", "kept")


@pytest.mark.parametrize("fmt", ["http", "function-url", "alb"])
def test_other_fronts_pass_www_authenticate_through(fmt: str) -> None:
    """AWS documents the remapping for REST APIs only (known-issues page); the other fronts pass the header on
    (README: reports of function URLs remapping it are not confirmed here)."""
    result = {"statusCode": 401, "headers": {"WWW-Authenticate": "Bearer"}, "body": ""}
    assert returning(result, fmt).get("/").headers["www-authenticate"] == "Bearer"


def test_rest_drops_the_request_headers_its_table_drops() -> None:
    """Known-issues page, the Request column for `lambda`: Content-MD5, Expect, Max-Forwards and Proxy-Authenticate
    are dropped; Via and Referer pass through."""
    response = returning(OK).get(
        "/",
        headers={
            "Content-MD5": "m",
            "Max-Forwards": "2",
            "Proxy-Authenticate": "Basic",
            "Via": "1.1 x",
            "Referer": "r",
        },
    )
    names = {name.lower() for name in response.extensions["lambda_event"]["multiValueHeaders"]}
    assert not names & {"content-md5", "max-forwards", "proxy-authenticate"}
    assert {"via", "referer"} <= names


def test_rest_splits_query_strings_on_semicolons() -> None:
    """Known-issues page: "The semicolon character (;) is not supported for any request URL query string and
    results in the data being split." HTTP APIs have no such note: `;` stays part of the value there."""
    event = returning(OK).get("/?a=1;b=2&c=3").extensions["lambda_event"]
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["2"], "c": ["3"]}
    http = returning(OK, "http").get("/?a=1;b=2").extensions["lambda_event"]
    assert http["queryStringParameters"] == {"a": "1;b=2"}


# --------------------------------------------------------------------------------------------------------------
# Request ids


def test_rest_answers_carry_its_request_ids() -> None:
    """curl output from AWS (awsdocs/amazon-api-gateway-developer-guide#71): `x-amzn-requestid` (the event's UUID
    requestId) and `x-amz-apigw-id` (its extendedRequestId) on every answer."""
    response = returning(OK).get("/")
    context = response.extensions["lambda_event"]["requestContext"]
    assert response.headers["x-amzn-requestid"] == context["requestId"]
    assert response.headers["x-amz-apigw-id"] == context["extendedRequestId"]
    assert "x-amzn-errortype" not in response.headers


def test_rest_errors_carry_the_error_type() -> None:
    """curl output from AWS of a REST API's 502 and 504: `x-amzn-ErrorType: InternalServerErrorException` next to
    `x-amzn-RequestId`."""
    response = client(failing, raise_function_errors=False).get("/")
    assert response.status_code == 502
    assert response.headers["x-amzn-errortype"] == "InternalServerErrorException"
    assert response.headers["x-amzn-requestid"] == response.extensions["lambda_event"]["requestContext"]["requestId"]


@pytest.mark.parametrize("handler", [lambda e, c: OK, failing], ids=["answer", "error"])
def test_http_api_answers_carry_apigw_requestid(handler: Any) -> None:
    """HTTP API answers from AWS carry `Apigw-Requestid: WSg1ihmdliAEJXA=`: the event's requestId, in API Gateway's
    own shape; its error answers too."""
    response = client(handler, "http", raise_function_errors=False).get("/")
    assert response.headers["apigw-requestid"] == response.extensions["lambda_event"]["requestContext"]["requestId"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", response.headers["apigw-requestid"])


def test_the_fronts_request_id_replaces_the_functions() -> None:
    """The front's word is last: a function's own `x-amzn-RequestId` does not reach the client beside it."""
    result = {"statusCode": 200, "headers": {"x-amzn-RequestId": "mine"}, "body": ""}
    response = returning(result).get("/")
    assert response.headers.get_list("x-amzn-requestid") != ["mine"]
    assert len(response.headers.get_list("x-amzn-requestid")) == 1


# --------------------------------------------------------------------------------------------------------------
# X-Forwarded-For


@pytest.mark.parametrize("fmt", ["alb", "alb-multi", "rest", "http", "function-url"])
def test_x_forwarded_for_keeps_the_clients_chain_and_appends_its_address(fmt: str) -> None:
    """ALB: "the load balancer appends the client IP address to the existing header value", one value
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html); REST: AWS's
    sample proxy event has one value `127.0.0.1, 127.0.0.2` in both header maps (tests/data/aws-samples)."""
    event = returning(OK, fmt).get("/", headers={"X-Forwarded-For": "203.0.113.7"}).extensions["lambda_event"]
    if fmt == "alb-multi":
        assert event["multiValueHeaders"]["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]
        return
    headers = {k.lower(): v for k, v in event["headers"].items()}
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    if fmt == "rest":
        multi = {k.lower(): v for k, v in event["multiValueHeaders"].items()}
        assert multi["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]


def test_x_forwarded_for_without_a_chain_is_the_clients_address() -> None:
    """No chain from the client: the front's own value is the connecting address alone, as in AWS's samples."""
    event = returning(OK, "alb").get("/").extensions["lambda_event"]
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"


# --------------------------------------------------------------------------------------------------------------
# HTTP API, payload format 1.0

HTTP_V1 = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html"


def test_http_v1_event_has_the_captured_shape() -> None:
    """An HTTP API payload 1.0 event captured from AWS (us-east-2, 2023, in spring-cloud-function's tests) and AWS's
    documented example: `version` 1.0, `resource`/`resourceId`/`resourcePath` `$default`, stage `$default`,
    `requestId` = `extendedRequestId` in API Gateway's shape, the client's Content-Length kept, no path parameters."""
    event = returning(OK, "http-1.0").post("/question", content=b"[1]", headers={"content-type": "application/json"})
    event = event.extensions["lambda_event"]
    assert event["version"] == "1.0"
    assert (event["resource"], event["path"], event["httpMethod"]) == ("$default", "/question", "POST")
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert {k.lower(): v for k, v in event["headers"].items()}["content-length"] == "3"
    assert (event["body"], event["isBase64Encoded"]) == ("[1]", False)
    context = event["requestContext"]
    assert (context["resourceId"], context["resourcePath"], context["stage"]) == ("$default", "$default", "$default")
    assert context["path"] == "/question"
    assert context["requestId"] == context["extendedRequestId"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", context["requestId"])


def test_http_v1_has_no_binary_media_types() -> None:
    """HTTP APIs have no binaryMediaTypes: a body is base64-encoded unless textual, as in payload 2.0 (a multipart
    upload arrives intact, where a REST API without binary media types mangles it); a base64 result is decoded."""
    png = b"\x89PNG\r\n\x1a\n"
    event = returning(OK, "http-1.0").post("/up", content=png, headers={"content-type": "image/png"})
    assert event.extensions["lambda_event"]["isBase64Encoded"] is True
    result = {"statusCode": 200, "body": "iVBORw0KGgo=", "isBase64Encoded": True}
    assert returning(result, "http-1.0").get("/", headers={"accept": "image/png"}).content == png


def test_http_v1_ignores_unknown_result_keys_and_fails_with_500() -> None:
    """http-api-develop-integrations-lambda.html: format 1.0's response has statusCode, headers, multiValueHeaders,
    body, isBase64Encoded; an HTTP API ignores other keys (REST answers 502 to them), and a failed call is HTTP API's
    500 `{"message":"Internal Server Error"}`, with `apigw-requestid`."""
    result = {"statusCode": 201, "body": "made", "statusDescription": "201 Created", "cookies": ["a=1"]}
    response = returning(result, "http-1.0").get("/")
    assert (response.status_code, response.text) == (201, "made")
    assert "set-cookie" not in response.headers
    failed = client(failing, "http-1.0", raise_function_errors=False).get("/")
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})
    assert failed.headers["apigw-requestid"]


def test_http_v1_keeps_semicolons_and_answer_headers() -> None:
    """HTTP API, not REST: `;` is no query separator, WWW-Authenticate is not remapped, no Content-Type is added
    (the known-issues page's notes are REST's)."""
    result = {"statusCode": 401, "headers": {"WWW-Authenticate": "Bearer"}, "body": ""}
    response = returning(result, "http-1.0").get("/?a=1;b=2")
    assert response.extensions["lambda_event"]["queryStringParameters"] == {"a": "1;b=2"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert "content-type" not in response.headers


def test_mangum_routes_http_v1_and_aws_wsgi_style_apps_read_http_method() -> None:
    """Mangum takes a payload 1.0 event for its HTTP API handler (`version` and `requestContext`) and serves the app;
    an aws-wsgi style app reads `event["httpMethod"]`, `event["path"]` and `queryStringParameters`."""
    from mangum import Mangum
    from mangum.handlers import HTTPGateway

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = f"{scope['method']} {scope['path']} {scope['query_string'].decode()}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    handler = Mangum(app, lifespan="off")
    response = client(handler, "http-1.0").put("/items/1?x=2")
    assert response.text == "PUT /items/1 x=2"
    event = response.extensions["lambda_event"]
    assert HTTPGateway.infer(event, None, handler.config)  # type: ignore[arg-type]

    def wsgi_style(event: Any, context: Any) -> Any:
        return {"statusCode": 200, "body": f"{event['httpMethod']} {event['path']} {event['queryStringParameters']}"}

    assert client(wsgi_style, "http-1.0").delete("/a?b=c").text == "DELETE /a {'b': 'c'}"


@pytest.mark.parametrize("where", ["option", "per-call", "event-cli"])
def test_http_v1_is_accepted_wherever_formats_are(where: str, tmp_path: Any) -> None:
    """The format is one of FORMATS, so the option (and serve's), the ini key, `invoke(event_format=)` and the
    `event` command take it."""
    from pytest_lambda_container.cli.event import request_event
    from pytest_lambda_container.config.options import OPTIONS, Origin
    from pytest_lambda_container.fronts.transport import make_invoke

    if where == "option":
        opt = next(o for o in OPTIONS if o.name == "event_format")
        assert opt.parse("http-1.0", Origin("ini key lambda_event_format", tmp_path), opt) == "http-1.0"
    elif where == "per-call":
        response = make_invoke(returning(OK))("GET", "/", event_format="http-1.0")
        assert response.extensions["lambda_event"]["version"] == "1.0"
    else:
        assert request_event("GET", "/x", event_format="http-1.0")["version"] == "1.0"


# --------------------------------------------------------------------------------------------------------------
# A session-wide stage, and the front's answer per call


def test_stage_option_is_every_requests_stage(tmp_path: Any) -> None:
    """`--lambda-stage dev` (ini `lambda_stage`) is the stage of every event, as `stage="dev"` per call was; a call
    may still name another. Stage names: "alphanumeric characters, hyphens, and underscores. Maximum length is 128"
    (known-issues page), or HTTP APIs' `$default`."""
    from pytest_lambda_container.config.options import OPTIONS, Origin
    from pytest_lambda_container.config.settings import Settings
    from pytest_lambda_container.errors import ConfigError
    from pytest_lambda_container.fronts.transport import make_invoke
    from pytest_lambda_container.targets import transport_for

    opt = next(o for o in OPTIONS if o.name == "stage")
    origin = Origin("ini key lambda_stage", tmp_path)
    assert opt.parse(" dev ", origin, opt) == "dev"
    assert opt.parse("$default", origin, opt) == "$default"
    for bad in ("de v", "a/b", "x" * 129):
        with pytest.raises(ConfigError, match="ini key lambda_stage"):
            opt.parse(bad, origin, opt)
    settings = Settings(rootdir=tmp_path, stage="dev", target="inprocess")
    http = httpx.Client(transport=transport_for(settings, InProcessFunction(lambda e, c: OK)), base_url="http://l")
    assert http.get("/").extensions["lambda_event"]["requestContext"]["stage"] == "dev"
    invoke = make_invoke(http)
    assert invoke("GET", "/", stage="prod").extensions["lambda_event"]["requestContext"]["stage"] == "prod"
    assert invoke("GET", "/x", event_format="http").extensions["lambda_event"]["rawPath"] == "/dev/x"


def test_raise_function_errors_per_call() -> None:
    """`invoke(..., raise_function_errors=False)` gets the front's answer (REST's 502) where the client raises by
    default, and `True` raises where the transport answers (httpx's WSGITransport has the same switch per transport)."""
    from pytest_lambda_container.errors import FunctionError
    from pytest_lambda_container.fronts.transport import make_invoke

    raising = make_invoke(client(failing))
    with pytest.raises(FunctionError):
        raising("GET", "/")
    assert raising("GET", "/", raise_function_errors=False).status_code == 502
    answering = make_invoke(client(failing, raise_function_errors=False))
    assert answering("GET", "/").status_code == 502
    with pytest.raises(FunctionError):
        answering("GET", "/", raise_function_errors=True)


@pytest.mark.usefixtures("plain_python")
def test_raise_function_errors_travels_over_real_http_as_a_no_op() -> None:
    """On the url target, real HTTP always gives the front's answer: `raise_function_errors=` is no event setting,
    so it is not refused as one (`request_context=` is)."""
    from pytest_lambda_container.errors import NotOnTarget
    from pytest_lambda_container.fronts.transport import HttpOnlyTransport, make_invoke

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(502)

    http = httpx.Client(transport=HttpOnlyTransport(httpx.MockTransport(answer)), base_url="https://api.example")
    invoke = make_invoke(http)
    assert invoke("GET", "/x", raise_function_errors=False).status_code == 502
    with pytest.raises(NotOnTarget):
        invoke("GET", "/x", request_context={"a": 1})
    assert seen == ["https://api.example/x"]


# --------------------------------------------------------------------------------------------------------------
# CORS as the front's configuration

CORS_DOC = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html"


def cors_client(handler: Any, fmt: str = "http", **cors: Any) -> httpx.Client:
    from pytest_lambda_container.fronts.cors import Cors

    return client(handler, fmt, cors=Cors(**cors), raise_function_errors=False)


def counting() -> tuple[list[Any], Any]:
    calls: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        calls.append(event)
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil.example"}, "body": "ok"}

    return calls, handler


PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}


@pytest.mark.parametrize("fmt", ["http", "http-1.0", "function-url"])
def test_cors_preflight_is_answered_by_the_front(fmt: str) -> None:
    """http-api-cors.html: "API Gateway automatically sends a response to preflight OPTIONS requests, even if there
    isn't an OPTIONS route"; a preflight is OPTIONS with Origin and Access-Control-Request-Method. Function URLs
    take the same fields (Lambda API `Cors`). The function is not invoked."""
    calls, handler = counting()
    http = cors_client(
        handler,
        fmt,
        allow_origins=("https://app.example",),
        allow_methods=("GET", "POST"),
        allow_headers=("content-type", "authorization"),
        max_age=300,
        allow_credentials=True,
    )
    response = http.options("/items", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["access-control-allow-methods"] == "GET,POST"
    assert response.headers["access-control-allow-headers"] == "content-type,authorization"
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert calls == []
    # An OPTIONS without Access-Control-Request-Method is no preflight: it reaches the function.
    assert http.options("/items", headers={"Origin": "https://app.example"}).status_code == 200
    assert len(calls) == 1


def test_cors_preflight_from_another_origin_gets_no_cors_headers() -> None:
    """ "To return CORS headers, your request must contain an origin header" that the configuration allows."""
    calls, handler = counting()
    response = cors_client(handler, allow_origins=("https://app.example",)).options(
        "/", headers={**PREFLIGHT, "Origin": "https://other.example"}
    )
    assert response.status_code == 204
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert calls == []


def test_cors_headers_replace_the_functions() -> None:
    """http-api-cors.html: "API Gateway adds the configured CORS headers to the response from an integration" and
    "ignores CORS headers returned from your backend integration": the function's Allow-Origin is gone whatever the
    Origin, the configured ones are on the answer to an allowed origin, a `*` configuration answers `*`."""
    _, handler = counting()
    http = cors_client(handler, allow_origins=("https://app.example",), expose_headers=("x-total",))
    allowed = http.get("/", headers={"Origin": "https://app.example"})
    assert allowed.headers.get_list("access-control-allow-origin") == ["https://app.example"]
    assert allowed.headers["access-control-expose-headers"] == "x-total"
    other = http.get("/", headers={"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in other.headers
    bare = http.get("/")
    assert "access-control-allow-origin" not in bare.headers
    star = cors_client(handler, allow_origins=("*",)).get("/", headers={"Origin": "https://any.example"})
    assert star.headers.get_list("access-control-allow-origin") == ["*"]


def test_cors_headers_on_the_fronts_own_error_answers() -> None:
    """A failed call's 500 is the front's answer, and carries the configured headers too (the front adds them to
    what it sends; users report them on HTTP API's own error answers, e.g. aws-sam-cli#9087)."""
    response = cors_client(failing, allow_origins=("*",)).get("/", headers={"Origin": "https://a.example"})
    assert (response.status_code, response.headers["access-control-allow-origin"]) == (500, "*")


@pytest.mark.parametrize("fmt", ["rest", "alb", "alb-multi"])
def test_cors_on_a_front_without_cors_configuration_is_a_usage_error(fmt: str, tmp_path: Any) -> None:
    """REST APIs and ALBs have no CORS configuration for a Lambda proxy: the function answers CORS (or a REST API's
    mock OPTIONS method), so the options are refused with what to do instead, not silently ignored."""
    from pytest_lambda_container.config.settings import Settings
    from pytest_lambda_container.errors import ConfigError
    from pytest_lambda_container.fronts.cors import Cors

    with pytest.raises(ConfigError, match=f"the {fmt} front has no such configuration.*--lambda-event-format http"):
        Settings(rootdir=tmp_path, event_format=fmt, cors_allow_origins=("*",))
    with pytest.raises(ConfigError, match="drop the CORS options"):
        LambdaTransport(InProcessFunction(lambda e, c: OK), event_format=fmt, cors=Cors(max_age=5))
    Settings(rootdir=tmp_path, event_format=fmt)  # no CORS options: fine


def test_cors_options_parse_as_aws_takes_them(tmp_path: Any) -> None:
    """Comma-separated or repeated lists (AWS's CorsConfiguration arrays), methods upper-cased (or `*`), maxAge
    0-86400 (function URL `Cors.MaxAge`), a credentials switch."""
    from pytest_lambda_container.config.options import OPTIONS, Origin
    from pytest_lambda_container.errors import ConfigError

    by_name = {o.name: o for o in OPTIONS}
    origin = Origin("option --lambda-cors-x", tmp_path)

    def parse(name: str, raw: Any) -> Any:
        return by_name[name].parse(raw, origin, by_name[name])

    assert parse("cors_allow_origins", ["https://a.example,https://b.example", "*"]) == (
        "https://a.example",
        "https://b.example",
        "*",
    )
    assert parse("cors_allow_methods", ["get,post", "*"]) == ("GET", "POST", "*")
    assert parse("cors_max_age", "300") == 300
    assert parse("cors_allow_credentials", "true") is True
    for name, bad in (("cors_allow_methods", ["FETCH"]), ("cors_max_age", "86401"), ("cors_max_age", "1.5")):
        with pytest.raises(ConfigError, match="--lambda-cors-x"):
            parse(name, bad)


# --------------------------------------------------------------------------------------------------------------
# HTTPS at the front's own address and stage


def secure_login_app() -> Any:
    """A Starlette app as Flask's `SESSION_COOKIE_SECURE=True` login behaves: the session cookie is `Secure`."""
    from mangum import Mangum
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse
    from starlette.routing import Route

    async def login(request: Request) -> JSONResponse:
        response = JSONResponse({"logged_in": True})
        response.set_cookie("session", "u-1", secure=True, httponly=True, samesite="lax")
        return response

    async def me(request: Request) -> JSONResponse:
        authenticated = request.cookies.get("session") == "u-1"
        return JSONResponse({"authenticated": authenticated}, status_code=200 if authenticated else 401)

    async def away(request: Request) -> RedirectResponse:
        return RedirectResponse(request.query_params["to"], status_code=302)

    routes = [Route("/login", login, methods=["POST"]), Route("/me", me), Route("/away", away)]
    return Mangum(Starlette(routes=routes), lifespan="off")


def target_client(handler: Any, tmp_path: Any, **settings: Any) -> httpx.Client:
    from pytest_lambda_container.config.settings import Settings
    from pytest_lambda_container.targets import InProcessTarget

    target = InProcessTarget(Settings(rootdir=tmp_path, target="inprocess", **settings))
    return target.client(InProcessFunction(handler))


def test_secure_cookies_round_trip(tmp_path: Any) -> None:
    """API Gateway and function URLs speak HTTPS, so a browser (or httpx) sends a `Secure` session cookie back; over
    `http://` httpx keeps it to itself, and the app answers `401 {"authenticated": false}` after a good login."""
    for fmt in ("rest", "http", "function-url"):
        with target_client(secure_login_app(), tmp_path, event_format=fmt) as http:
            assert http.base_url.scheme == "https"
            assert http.post("/login").json() == {"logged_in": True}
            assert (http.get("/me").status_code, http.get("/me").json()) == (200, {"authenticated": True}), fmt
    plain = httpx.Client(transport=LambdaTransport(InProcessFunction(secure_login_app())), base_url="http://lambda")
    plain.post("/login")
    assert plain.get("/me").status_code == 401


@pytest.mark.parametrize(
    ("settings", "base"),
    [
        ({}, "https://1234567890.execute-api.us-east-1.amazonaws.com/test"),
        ({"stage": "dev"}, "https://1234567890.execute-api.us-east-1.amazonaws.com/dev"),
        ({"event_format": "http"}, "https://1234567890.execute-api.us-east-1.amazonaws.com"),
        ({"event_format": "http-1.0", "stage": "dev"}, "https://1234567890.execute-api.us-east-1.amazonaws.com/dev"),
        (
            {"event_format": "function-url", "region": "eu-west-1"},
            f"https://{'abcdefghijklmnopqrstuvwxyz0123456'}.lambda-url.eu-west-1.on.aws",
        ),
        ({"event_format": "alb"}, "http://lambda-alb-123578498.us-east-1.elb.amazonaws.com"),
    ],
)
def test_the_client_speaks_to_the_fronts_own_address(settings: dict[str, Any], base: str, tmp_path: Any) -> None:
    """REST: `https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`; HTTP API's `$default` stage adds no
    path; function URLs `https://{url_id}.lambda-url.{region}.on.aws`; the ALB's events are an HTTP listener's."""
    with target_client(lambda e, c: OK, tmp_path, **settings) as http:
        assert str(http.base_url).rstrip("/") == base
        assert http.get("/x").status_code == 200


def test_a_request_for_another_host_reaches_no_function(tmp_path: Any) -> None:
    """On AWS another host is another server: the function is not invoked, the client cannot connect."""
    calls, handler = counting()
    with target_client(handler, tmp_path) as http, pytest.raises(httpx.ConnectError, match="not this API's address"):
        http.get("https://example.com/x")
    assert calls == []


def test_a_redirect_outside_the_stage_gets_the_fronts_answer(tmp_path: Any) -> None:
    """A REST API on stage `dev` lives under `/dev`: an app's redirect to `/login` leaves it, and API Gateway
    answers 403 "Missing Authentication Token" (MissingAuthenticationTokenException: "Missing or incorrect stage",
    https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden); a redirect within the stage, and an
    absolute URL of the API's own host, reach the function. HTTP APIs answer 404 (README: not confirmed)."""
    with target_client(secure_login_app(), tmp_path, stage="dev") as http:
        out = http.get("/away", params={"to": "/login"}, follow_redirects=True)
        assert (out.status_code, out.json()) == (403, {"message": "Missing Authentication Token"})
        assert out.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
        assert out.url.path == "/login"
        assert "lambda_event" not in out.extensions
        inside = http.get("/away", params={"to": "/dev/me"}, follow_redirects=True)
        assert (inside.status_code, inside.extensions["lambda_event"]["path"]) == (401, "/me")
        absolute = http.get("https://1234567890.execute-api.us-east-1.amazonaws.com/dev/me")
        assert absolute.status_code == 401
    with target_client(lambda e, c: OK, tmp_path, event_format="http", stage="dev") as http:
        out = http.get("https://1234567890.execute-api.us-east-1.amazonaws.com/other")
        assert (out.status_code, out.json()) == (404, {"message": "Not Found"})
        assert out.headers["apigw-requestid"]


def test_cors_on_rest_is_a_usage_error_of_the_run(pytester: pytest.Pytester) -> None:
    """The plugin refuses `--lambda-cors-*` with the default REST front at start, naming what to do instead; README
    says where CORS is answered on REST and ALB."""
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--lambda-cors-allow-origins", "https://app.example", "--lambda-target", "inprocess")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the rest front has no such configuration*--lambda-event-format http*"])


def test_the_report_header_names_the_stage_and_cors(tmp_path: Any) -> None:
    """The header says which front the run speaks as: its format, stage and CORS origins."""
    from pytest_lambda_container.config.settings import Settings

    assert Settings(rootdir=tmp_path).front == "rest"
    settings = Settings(rootdir=tmp_path, event_format="http", stage="dev", cors_allow_origins=("https://a.example",))
    assert settings.front == "http (stage dev) (CORS https://a.example)"
