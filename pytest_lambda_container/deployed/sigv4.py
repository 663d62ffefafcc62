"""SigV4-signed requests to an IAM-protected deployed endpoint (`--lambda-url-auth iam`), signed by botocore.

botocore is the optional `[aws]` extra: it is imported only when a request is to be signed, and its absence is a
`ConfigError` that says how to install it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator
from typing import Any

import httpx

from ..config.settings import Settings
from ..errors import ConfigError

#: `<url-id>.lambda-url.<region>.on.aws`: a Lambda function URL, signed for the service `lambda`.
FUNCTION_URL_HOST = re.compile(r"^[^.]+\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$")
#: `<api-id>.execute-api.<region>.amazonaws.com` (also China's `.com.cn`): an API Gateway stage, `execute-api`.
API_GATEWAY_HOST = re.compile(r"^[^.]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
#: The headers that are signed besides every `x-amz-*` one: what no proxy or client library on the way rewrites
#: (httpx's Accept-Encoding or Connection may be, and a signed header that changes fails the signature).
SIGNED_HEADERS = frozenset({"host", "content-type", "content-md5"})
#: What the signer adds to the request.
SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")
INSTALL_HINT = "install the extra: pip install 'pytest-lambda-container[aws]'"
CREDENTIALS_HINT = (
    "botocore looks for them, in this order, in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
    "the profile AWS_PROFILE names in ~/.aws/credentials or ~/.aws/config (SSO included: `aws sso login`), "
    "a web identity token, and the container's or instance's role"
)


def botocore_module(name: str) -> Any:
    """`botocore.<name>` (or `boto3` itself), or a `ConfigError` saying to install the `[aws]` extra."""
    try:
        import importlib

        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"{name.split('.')[0]} is not installed ({exc}); {INSTALL_HINT}") from None


def service_and_region(host: str) -> tuple[str, str]:
    """The SigV4 service and region a request to `host` is signed for, or a `ConfigError` for a host we cannot tell."""
    host = host.lower()
    for pattern, service in ((FUNCTION_URL_HOST, "lambda"), (API_GATEWAY_HOST, "execute-api")):
        match = pattern.match(host)
        if match:
            return service, match.group("region")
    raise ConfigError(
        f"--lambda-url-auth iam cannot tell how to sign requests to {host}: it signs Lambda function URLs "
        "(<id>.lambda-url.<region>.on.aws, service lambda) and API Gateway's own hosts "
        "(<api-id>.execute-api.<region>.amazonaws.com, service execute-api); give one of those as --lambda-url "
        "(a custom domain's stage has an execute-api URL too), or use --lambda-url-auth none"
    )


class SigV4(httpx.Auth):
    """Signs each request with AWS Signature Version 4 (botocore's signer), body included."""

    # httpx reads a streamed body before the auth flow: the signature covers its hash.
    requires_request_body = True

    def __init__(self, credentials: Any, service: str, region: str) -> None:
        #: botocore credentials; refreshable ones are read afresh (frozen) for each request.
        self.credentials = credentials
        self.service = service
        self.region = region

    def __repr__(self) -> str:
        return f"SigV4(service={self.service!r}, region={self.region!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request

    def sign(self, request: httpx.Request) -> None:
        """Add the signature's headers to `request`."""
        auth = botocore_module("botocore.auth")
        awsrequest = botocore_module("botocore.awsrequest")
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in SIGNED_HEADERS or name.lower().startswith("x-amz-")
        }
        for name in SIGNATURE_HEADERS:  # a request sent again (a redirect) is signed afresh
            headers.pop(name.lower(), None)
        body = request.content
        if self.service == "lambda":
            # Function URLs take no unsigned payload: POST and PUT must send the body's hash as this header.
            headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        signed = awsrequest.AWSRequest(method=request.method, url=str(request.url), data=body, headers=headers)
        credentials = getattr(self.credentials, "get_frozen_credentials", lambda: self.credentials)()
        auth.SigV4Auth(credentials, self.service, self.region).add_auth(signed)
        for name in SIGNATURE_HEADERS:
            if name in signed.headers:
                request.headers[name] = signed.headers[name]


def credentials(region: str) -> Any:
    """The standard chain's credentials, or a `ConfigError` that says where they are looked for."""
    session = botocore_module("botocore.session").Session()
    found = session.get_credentials()
    if found is None:
        raise ConfigError(f"no AWS credentials found to sign requests with (region {region}): {CREDENTIALS_HINT}")
    return found


def url_auth(settings: Settings) -> httpx.Auth | None:
    """The auth of the url target's requests: None for `--lambda-url-auth none`, SigV4 for `iam`."""
    if settings.url_auth != "iam":
        return None
    assert settings.url is not None  # Settings refuses url_auth iam without a URL
    host = httpx.URL(settings.url).host
    service, region = service_and_region(host)
    return SigV4(credentials(region), service, region)
