"""The deployed targets: the `function` target's `DeployedFunction` (Lambda's Invoke API through boto3) and the `url`
target's request signing (`url_auth`, in sigv4.py).

boto3 is the optional `[aws]` extra, imported only when a deployed function is made. The function's answers mean
what the emulator's mean (container/outcome.py maps both), with the two errors only AWS reports in its own shape: a
timeout (`Sandbox.Timedout`, "Task timed out after") and a kill for memory (`Runtime.OutOfMemory`).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ..config.defaults import DEPLOYED_MARGIN
from ..config.environment import DEFAULT_REGION
from ..config.settings import Settings
from ..container import metrics, outcome
from ..container.protocol import client_context_header, emulator_base, encode_event
from ..errors import ConfigError, FunctionError, InvocationError, LambdaContainerError, Unreachable
from .sigv4 import CREDENTIALS_HINT, botocore_module, url_auth

__all__ = ["DeployedFunction", "url_auth"]

#: An endpoint that does not take the connection within this is not there (no need to wait a function's timeout).
CONNECT_TIMEOUT = 10.0
#: `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`
_ARN_REGION = re.compile(r"^arn:[^:]+:lambda:(?P<region>[^:]+):")
#: The REPORT line's figures that are real on Lambda (the emulator's are made up: metrics.py leaves them out).
_REAL_FIGURES = re.compile(r"(?P<name>Init Duration|Max Memory Used): (?P<value>[\d.]+) (?:ms|MB)")
#: The Invoke API's error codes that mean the setting is wrong, not the function.
_ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)


def region_of(function: str, settings: Settings, chain_region: str | None) -> str:
    """The region the function is called in: the ARN's (the function lives there), else `--lambda-region` when it
    was changed from its default, else the standard chain's (AWS_REGION, AWS_DEFAULT_REGION, the profile's), else
    the default (us-east-1)."""
    match = _ARN_REGION.match(function)
    if match:
        return match.group("region")
    if settings.region != DEFAULT_REGION:
        return settings.region
    return chain_region or settings.region


class DeployedFunction:
    """A deployed function called through Lambda's Invoke API (RequestResponse, with the log tail): the `function`
    target's function. Events are built here as for a container; errors are the same `InvocationError`s, with the
    function's log tail (the last 4 KB Lambda returns) as their `.logs`."""

    def __init__(self, client: Any, function: str, *, timeout: float, region: str = "") -> None:
        #: The boto3 Lambda client.
        self.client = client
        #: The function's name or ARN, as given.
        self.function = function
        self.region = region
        self._timeout = timeout
        self._tail = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> DeployedFunction:
        """The function of `--lambda-function` (at `--lambda-endpoint-url` if given), credentials from the standard
        chain; a `ConfigError` when boto3 is not installed or no credentials are found."""
        assert settings.function is not None  # Settings refuses the function target without one
        boto3 = botocore_module("boto3")
        config = botocore_module("botocore.config")
        session = boto3.session.Session()
        region = region_of(settings.function, settings, session.region_name)
        # aws-lambda-rie checks no signature: unsigned requests need no credentials (LocalStack's do).
        emulator = emulator_base(settings.endpoint_url)
        unsigned = {"signature_version": botocore_module("botocore").UNSIGNED} if emulator else {}
        if not emulator and session.get_credentials() is None:
            raise ConfigError(f"no AWS credentials found to invoke {settings.function}: {CREDENTIALS_HINT}")
        client = session.client(
            "lambda",
            region_name=region,
            endpoint_url=emulator or settings.endpoint_url,
            config=config.Config(
                **unsigned,
                # botocore's defaults (60 s read, 3 retries on a read timeout) would invoke a slow function again.
                read_timeout=settings.timeout + DEPLOYED_MARGIN,
                connect_timeout=CONNECT_TIMEOUT,
                retries={"total_max_attempts": 1, "mode": "standard"},
                # A long call's idle connection must outlive NAT gateways' idle timeout (350 s).
                tcp_keepalive=True,
                user_agent_extra="pytest-lambda-container",
            ),
        )
        return cls(client, settings.function, timeout=settings.timeout, region=region)

    def __repr__(self) -> str:
        return f"DeployedFunction({self.function!r}, region={self.region!r})"

    @property
    def timeout(self) -> float:
        """The function's timeout in seconds, as configured here (`--lambda-timeout`)."""
        return self._timeout

    @property
    def last_report(self) -> metrics.Report | None:
        """The last invocation's figures, from the REPORT line of its log tail (None without one)."""
        report = metrics.parse(self._tail)
        if report is None:
            return None
        real = {m.group("name"): float(m.group("value")) for m in _REAL_FIGURES.finditer(self._tail)}
        return dataclasses.replace(
            report,
            init_duration_ms=real.get("Init Duration", report.init_duration_ms),
            max_memory_used_mb=real.get("Max Memory Used", report.max_memory_used_mb),
        )

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """The last invocation's log tail (Lambda returns its last 4 KB); `tail` keeps its last lines. `since` is
        taken for the container's signature: there is only the last call's tail."""
        if tail is None:
            return self._tail
        return "\n".join(self._tail.splitlines()[-tail:]) if tail > 0 else ""

    def invoke_event(
        self, event: Any, *, tenant_id: str | None = None, client_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Invoke the function with `event` (any JSON value); its result, or an `InvocationError` with the log tail.
        `tenant_id`, `client_context`: the Invoke API's TenantId and ClientContext."""
        payload = encode_event(event)
        extra: dict[str, str] = {}
        if tenant_id is not None:
            extra["TenantId"] = tenant_id
        if client_context is not None:
            extra["ClientContext"] = client_context_header(client_context)
        response = self._invoke(payload, **extra)
        self._tail = base64.b64decode(response.get("LogResult") or "").decode("utf-8", "replace")
        text = response["Payload"].read().decode("utf-8", "replace")
        # The emulator at an endpoint URL says what Lambda says in X-Amz-Function-Error inside its payload only.
        headers = {"X-Amz-Function-Error": response["FunctionError"]} if response.get("FunctionError") else {}
        try:
            return outcome.decode_answer(int(response.get("StatusCode", 200)), text, headers, timeout=self.timeout)
        except FunctionError as exc:
            error: InvocationError = outcome.as_lambda_reports_it(exc, timeout=self.timeout, deployed=True)
        except InvocationError as exc:
            error = exc
        error.logs = self._tail
        raise error from None

    def _invoke(self, payload: bytes, **extra: str) -> Any:
        exceptions = botocore_module("botocore.exceptions")
        try:
            return self.client.invoke(
                FunctionName=self.function, InvocationType="RequestResponse", LogType="Tail", Payload=payload, **extra
            )
        except exceptions.ReadTimeoutError:
            raise outcome.no_answer(
                self.function, waited=self.timeout + DEPLOYED_MARGIN, timeout=self.timeout
            ) from None
        except (exceptions.BotoCoreError, exceptions.ClientError) as exc:
            raise self._explain(exc, exceptions) from None

    def _explain(self, exc: Exception, exceptions: Any) -> LambdaContainerError:
        """One line: what went wrong calling the Invoke API, and how to fix it."""
        where = f"{self.function} in {self.region}"
        if isinstance(exc, exceptions.NoCredentialsError):
            return ConfigError(f"no AWS credentials found to invoke {where}: {CREDENTIALS_HINT}")
        if isinstance(exc, (exceptions.EndpointConnectionError, exceptions.ConnectTimeoutError)):
            return Unreachable(
                f"nothing answers the Invoke API for {where} ({exc}): check --lambda-endpoint-url (is the emulator "
                "running there? `serve` and --lambda-keep print its address), the region (--lambda-region, "
                "AWS_REGION or an ARN) and the network",
                address=str(getattr(exc, "kwargs", {}).get("endpoint_url", "")),
            )
        if isinstance(exc, exceptions.ParamValidationError):
            return ConfigError(f"--lambda-function {self.function!r} is not a function name or ARN: {exc}")
        if not isinstance(exc, exceptions.ClientError):
            return LambdaContainerError(f"invoking {where} failed: {type(exc).__name__}: {exc}")
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", exc))
        if code == "ResourceNotFoundException":
            return ConfigError(
                f"no function {self.function} in {self.region} ({message}): check --lambda-function, and the region "
                "(an ARN's, else --lambda-region, else AWS_REGION or the profile's)"
            )
        if code in _ACCESS_CODES:
            return ConfigError(
                f"AWS refused to invoke {where} ({code}: {message}): the credentials need lambda:InvokeFunction on it "
                f"and must be valid ({CREDENTIALS_HINT})"
            )
        if code == "RequestEntityTooLargeException":
            return InvocationError(f"{where} refused the payload as too large ({message})")
        return InvocationError(f"invoking {where} failed ({code}: {message})")

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
