"""The front rules a FastAPI user meets first, through the example app in its real container (issue 11): a PNG route
behind a REST API with and without binary media types, a form post behind an HTTP API, and a named stage."""

from __future__ import annotations

import time

import httpx
import pytest

from pytest_lambda_container.fronts.transport import LambdaTransport

pytestmark = pytest.mark.docker

LOGO_TEST = """
import base64

PNG = b"\\x89PNG\\r\\n\\x1a\\n"

def test_logo(invoke):
    r = invoke("GET", "/logo", event_format="rest")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    if {binary}:
        assert r.content.startswith(PNG)
    else:  # the function's base64 text, as the client of a REST API without binary media types gets it
        assert r.content.startswith(b"iVBORw0KGgo") and base64.b64decode(r.content).startswith(PNG)
"""


@pytest.mark.parametrize("binary_media_types", [None, "*/*"], ids=["no-binary-media-types", "all-binary"])
def test_png_through_rest_needs_binary_media_types(pytester, lambda_image, binary_media_types):
    """Without `--lambda-binary-media-types` the client gets the function's base64 text, as from a REST API with
    no binaryMediaTypes on AWS; with `*/*`, the PNG's bytes."""
    pytester.makepyfile(LOGO_TEST.format(binary=bool(binary_media_types)))
    args = ["--lambda-image", lambda_image.id, "--lambda-port", "0"]
    if binary_media_types:
        args.append(f"--lambda-binary-media-types={binary_media_types}")
    pytester.runpytest(*args).assert_outcomes(passed=1)


def test_form_post_through_http_arrives_base64_encoded_and_intact(invoke):
    """An HTTP API base64-encodes a form body (not textual); Mangum decodes it, so the app reads its fields."""
    r = invoke(
        "POST",
        "/form",
        event_format="http",
        body="name=caf%C3%A9&empty=",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.json() == {"fields": [["name", "caf\u00e9"], ["empty", ""]], "base64": True}
    assert r.extensions["lambda_event"]["isBase64Encoded"] is True


def test_named_stage_through_http_needs_mangums_base_path(lambda_container_factory, lambda_target):
    """On an HTTP API stage `prod`, AWS prefixes the path with `/prod`: the plain Mangum handler answers 404, the one
    with `api_gateway_base_path="/prod"` answers."""
    for handler, status in (("app.handler", 404), ("app.prod_stage_handler", 200)):
        function = lambda_container_factory(handler=handler)
        with lambda_target.client(function) as client:
            r = client.get("/test1", extensions={"lambda": {"event_format": "http", "stage": "prod"}})
        assert r.status_code == status, handler
        assert r.extensions["lambda_event"]["rawPath"] == "/prod/test1"


def test_the_container_gives_up_at_the_integration_timeout_and_the_next_call_works(lambda_container_factory):
    """API Gateway answers 504 after its integration timeout while the function runs on; here the abandoned
    emulator is replaced, and the next request is answered (as by another sandbox on AWS).

    The next request goes through a front with REST's own timeout: it meets the new sandbox's cold start, which on
    a loaded machine (the sandbox's CPU share) can outlast the 2 s front, as on AWS a cold start can outlast a
    short integration timeout."""
    function = lambda_container_factory(timeout=45)  # its own timeout is longer than the front's
    transport = LambdaTransport(function, integration_timeout=2, raise_function_errors=False)
    with httpx.Client(transport=transport, base_url="http://lambda") as client:
        started = time.monotonic()
        r = client.get("/sleep", params={"seconds": 20})
        assert (r.status_code, r.json()) == (504, {"message": "Endpoint request timed out"})
        assert time.monotonic() - started < 10
    with httpx.Client(transport=LambdaTransport(function), base_url="http://lambda") as client:
        assert client.get("/test1").json() == {"message": "test"}


def test_rest_answers_carry_request_ids_and_the_clients_forwarded_chain(invoke):
    """Through the real container (issue 20): REST answers carry `x-amzn-RequestId` (the event's requestId) and
    `x-amz-apigw-id`; the app sees the client's X-Forwarded-For chain with its address appended, one value."""
    r = invoke("GET", "/echo", headers={"X-Forwarded-For": "203.0.113.7"}, event_format="rest")
    context = r.extensions["lambda_event"]["requestContext"]
    assert r.headers["x-amzn-requestid"] == context["requestId"]
    assert r.headers["x-amz-apigw-id"] == context["extendedRequestId"]
    assert r.json()["headers"]["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"


def test_http_api_payload_1_0_through_the_container(invoke, lambda_container_factory, lambda_target):
    """An HTTP API with payload format 1.0: Mangum routes the REST-shaped event, the answer carries apigw-requestid,
    and a failed call is HTTP API's 500 (not REST's 502)."""
    r = invoke("GET", "/items/7", {"q": "x"}, event_format="http-1.0")
    assert r.json() == {"item_id": 7, "q": "x"}
    assert r.extensions["lambda_event"]["version"] == "1.0"
    assert r.headers["apigw-requestid"] == r.extensions["lambda_event"]["requestContext"]["requestId"]
    with lambda_target.client(lambda_container_factory(handler="app.failing_handler")) as client:
        settings = {"event_format": "http-1.0", "raise_function_errors": False}
        failed = client.get("/", extensions={"lambda": settings})
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})


CORS_TEST = """
def test_cors(lambda_client):
    preflight = lambda_client.options(
        "/test1", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert "lambda_event" not in preflight.extensions
    r = lambda_client.get("/test1", headers={"Origin": "https://app.example"})
    assert r.json() == {"message": "test"}
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in lambda_client.get("/test1", headers={"Origin": "https://x.example"}).headers
"""


def test_cors_configuration_of_an_http_api(pytester, lambda_image):
    """`--lambda-cors-*` on an HTTP API: the front answers the preflight without invoking the container's function
    and puts the configured headers on the function's answer to an allowed origin (http-api-cors.html)."""
    pytester.makepyfile(CORS_TEST)
    args = ["--lambda-image", lambda_image.id, "--lambda-port", "0", "--lambda-event-format", "http"]
    args += ["--lambda-cors-allow-origins", "https://app.example", "--lambda-cors-allow-methods", "GET,POST"]
    pytester.runpytest(*args).assert_outcomes(passed=1)


SECURE_TEST = """
def test_secure(lambda_client):
    assert lambda_client.base_url.scheme == "https"
    r = lambda_client.get("/items/1", follow_redirects=False)
    assert r.status_code == 200
    out = lambda_client.get("https://1234567890.execute-api.us-east-1.amazonaws.com/elsewhere")
    assert (out.status_code, out.json()) == (403, {"message": "Missing Authentication Token"})
"""


def test_the_client_speaks_https_at_the_stage(pytester, lambda_image):
    """`lambda_client` is at the REST API's HTTPS address and `--lambda-stage`: a path outside the stage is the
    front's 403, never the function's."""
    pytester.makepyfile(SECURE_TEST)
    args = ["--lambda-image", lambda_image.id, "--lambda-port", "0", "--lambda-stage", "dev"]
    pytester.runpytest(*args).assert_outcomes(passed=1)
