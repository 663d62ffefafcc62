"""Where the tests' requests go — the same tests, four targets (`--lambda-target`):

- `container` (default): the image built and run under aws-lambda-rie (`LambdaSession`);
- `inprocess`: the handler imported into this process and called directly (`inprocess.load`): no Docker at all;
- `url`: a deployed HTTP endpoint (API Gateway stage, Function URL, ALB, or `serve`) reached over real HTTP;
- `function`: a deployed function through Lambda's Invoke API (`remote.DeployedFunction`).

A `Target` gives the tests an HTTP client (its transport is the target's, never a container's unless the target is
one) and, where the target has one, the function itself (`invoke_event`). What a target cannot do raises
`NotOnTarget`, which the pytest plugin reports as a skip with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from .config.settings import Settings
from .container.session import FunctionSpec, LambdaSession
from .errors import NotOnTarget
from .fronts.events import EventOptions
from .fronts.transport import EXTENSION, LambdaTransport


class Function(Protocol):
    """What every target's function offers the tests: events in, results out, the function's errors raised."""

    @property
    def timeout(self) -> float: ...

    def invoke_event(self, event: Any) -> Any: ...


def transport_options(settings: Settings) -> dict[str, Any]:
    """The event options every request of the run starts from: those the settings give (region, binary media types)."""
    wanted = {"region": settings.region, "binary_media_types": settings.binary_media_types or None}
    fields = EventOptions.__dataclass_fields__
    return {name: value for name, value in wanted.items() if name in fields and value is not None}


def transport_for(settings: Settings, function: Function, **kwargs: Any) -> LambdaTransport:
    """The transport that reaches `function` as the settings' front does (event format, options, integration
    timeout): the tests' clients and `serve` build it here alike; `kwargs` go to `LambdaTransport` as well."""
    return LambdaTransport(
        function,
        event_format=settings.event_format,
        options=transport_options(settings),
        integration_timeout=settings.integration_timeout,
        **kwargs,
    )


class HttpOnlyTransport(httpx.BaseTransport):
    """Real HTTP to a deployed endpoint; a request that sets parts of the event (`invoke(..., request_context=...)`)
    cannot be sent that way, and is refused rather than sent without them."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        settings: Mapping[str, Any] = request.extensions.get(EXTENSION) or {}
        if settings:
            names = ", ".join(f"{name}=" for name in settings)
            raise NotOnTarget(
                f"this request sets {names} of the event, which cannot travel over HTTP to a deployed endpoint; "
                "it runs on the container, inprocess and function targets",
                target="url",
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Endpoint:
    """The url target's function: a deployed HTTP endpoint, reached over real HTTP only (`lambda_client`, `invoke`)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r})"

    def invoke_event(self, event: Any) -> Any:
        raise NotOnTarget(
            "invoke_event sends a raw event, which an HTTP endpoint does not take; the target is url", target="url"
        )

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        raise NotOnTarget("logs() needs a container; the target is url", target="url")


class Target:
    """The run's target: makes the function of a spec (once per spec) and clients that reach it; `close()` ends all."""

    def __init__(self, settings: Settings, open_session: Callable[[], LambdaSession]) -> None:
        self.settings = settings
        self.name = settings.target
        self._open_session = open_session
        self._session: LambdaSession | None = None
        self._functions: dict[FunctionSpec, Any] = {}
        self._lock = threading.RLock()

    def header(self) -> list[str]:
        """The report header's lines about the target."""
        s = self.settings
        if self.name == "container":
            what = f"image {s.image}" if s.image else f"dockerfile {s.dockerfile_path}"
            return [
                f"lambda-container: target container, {what}, port {s.port or 'any'}, events {s.event_format}, "
                f"timeout {s.timeout:g}s",
                f"lambda-container: {s.limits.header()}",
            ]
        if self.name == "inprocess":
            source = f"source {s.source}" if s.source else "source from the Dockerfile"
            return [
                f"lambda-container: target inprocess (no Docker), {source}, events {s.event_format}, "
                f"timeout {s.timeout:g}s, memory {s.memory} MB as told to the handler",
                "lambda-container: in-process, the sandbox does not apply: no read-only filesystem, memory or CPU "
                "limits; the function's environment is seen by the handler only",
            ]
        if self.name == "url":
            auth = ", signed with SigV4 (iam)" if s.url_auth == "iam" else ""
            return [f"lambda-container: target url {s.url}{auth}: real HTTP, nothing built or started"]
        endpoint = f" at {s.endpoint_url}" if s.endpoint_url else ""
        return [
            f"lambda-container: target function {s.function}{endpoint} (Lambda Invoke API), events {s.event_format}"
        ]

    def session(self) -> LambdaSession:
        """The container target's `LambdaSession` (engine, images, containers), opened on first use."""
        if self.name != "container":
            raise NotOnTarget(f"this needs Docker (the plugin's session); the target is {self.name}", target=self.name)
        with self._lock:
            if self._session is None:
                self._session = self._open_session()
            return self._session

    @property
    def opened_session(self) -> LambdaSession | None:
        """The session, if one was opened."""
        return self._session

    def is_configured(self, spec: FunctionSpec) -> bool:
        """Whether `spec` asks for nothing but the configured function (what a deployed target can reach)."""
        s = self.settings
        builds = (
            spec.image in (None, s.image)
            and spec.dockerfile in (None, s.dockerfile_path.resolve())
            and spec.context in (None, s.context_path.resolve())
            and not spec.build_args
        )
        default = FunctionSpec().resolved(s)
        resolved = spec.resolved(s)
        return builds and (resolved.handler, resolved.env, resolved.timeout) == (
            default.handler,
            default.env,
            default.timeout,
        )

    def function(self, spec: FunctionSpec | None = None) -> Any:
        """The function of `spec` (default: the configured one) on this target, made once per spec: a
        `LambdaContainer`, an `InProcessFunction`, a `DeployedFunction`, or on `url` the `Endpoint`."""
        spec = spec or FunctionSpec()
        if self.name == "container":
            return self.session().container(spec)
        if self.name in ("url", "function") and not self.is_configured(spec):
            asked = ", ".join(f"{k}={v!r}" for k, v in vars(spec).items() if v not in (None, ()))
            raise NotOnTarget(
                f"the {self.name} target reaches the one deployed function; this asks for another ({asked}): "
                "test it on the container or inprocess target, or give it its own run",
                target=self.name,
            )
        with self._lock:
            key = spec.resolved(self.settings) if self.name == "inprocess" else FunctionSpec()
            if key not in self._functions:
                self._functions[key] = self._make(spec)
            return self._functions[key]

    def _make(self, spec: FunctionSpec) -> Any:
        if self.name == "inprocess":
            from .inprocess import function as inprocess

            return inprocess.load(self.settings, spec)
        if self.name == "url":
            assert self.settings.url is not None  # settings.check_target
            return Endpoint(self.settings.url)
        from .deployed import invoke_api as remote

        return remote.DeployedFunction.from_settings(self.settings)

    def client(self, function: Any) -> httpx.Client:
        """An `httpx.Client` whose requests reach `function` (this target's) the way this target does."""
        s = self.settings
        if isinstance(function, Endpoint):
            from .deployed import invoke_api as remote

            # A deployed stage is slow to wake: the function's timeout, not httpx's 5 s default.
            return httpx.Client(
                base_url=function.url,
                transport=HttpOnlyTransport(httpx.HTTPTransport()),
                auth=remote.url_auth(s),
                timeout=s.timeout + 5,
            )
        return httpx.Client(base_url="http://lambda", transport=transport_for(s, function))

    def close(self) -> None:
        """End what the target started: containers removed (or kept, with `keep`), in-process functions closed."""
        with self._lock:
            for function in self._functions.values():
                close = getattr(function, "close", None)
                if close is not None:
                    close()
            self._functions.clear()
            if self._session is not None:
                self._session.close()
