"""Where the tests' requests go — the same tests, four targets (`--lambda-target`), one class each:

- `container` (default, `ContainerTarget`): the image built and run under aws-lambda-rie (`LambdaSession`);
- `inprocess` (`InProcessTarget`): the handler imported into this process and called directly: no Docker at all;
- `url` (`UrlTarget`): a deployed HTTP endpoint (API Gateway stage, Function URL, ALB, or `serve`) over real HTTP;
- `function` (`FunctionTarget`): a deployed function through Lambda's Invoke API (`deployed.invoke_api`).

Every target means the same function by a spec: `FunctionSpec.resolve` (config/function.py). A `Target` gives
the tests an HTTP client (its transport is the target's, never a container's unless the target is one) and, where
the target has one, the function itself (`invoke_event`). What a target cannot do raises `NotOnTarget`, which the
pytest plugin reports as a skip with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .config.defaults import DEPLOYED_MARGIN
from .config.function import FunctionSpec, ResolvedFunction
from .config.settings import Settings
from .errors import not_on_target

if TYPE_CHECKING:
    # Imported where used: the plugin makes its target at every pytest start, and most starts need no HTTP client.
    import httpx

    from .container.early import EarlyStart
    from .container.session import LambdaSession
    from .fronts.transport import LambdaTransport


class Function(Protocol):
    """What every target's function offers the tests: events in, results out, the function's errors raised."""

    @property
    def timeout(self) -> float: ...

    def invoke_event(self, event: Any) -> Any: ...


def transport_options(settings: Settings) -> dict[str, Any]:
    """The event options every request of the run starts from: those the settings give (region, binary media types,
    stage)."""
    wanted = {
        "region": settings.region,
        "binary_media_types": settings.binary_media_types or None,
        "stage": settings.stage,
    }
    from .fronts.events import EventOptions  # not at import: every pytest start imports this module (issue 17)

    fields = EventOptions.__dataclass_fields__
    return {name: value for name, value in wanted.items() if name in fields and value is not None}


def transport_for(settings: Settings, function: Function, **kwargs: Any) -> LambdaTransport:
    """The transport that reaches `function` as the settings' front does (event format, options, integration
    timeout): the tests' clients and `serve` build it here alike; `kwargs` go to `LambdaTransport` as well."""
    from .fronts.transport import LambdaTransport

    return LambdaTransport(
        function,
        event_format=settings.event_format,
        options=transport_options(settings),
        integration_timeout=settings.integration_timeout,
        cors=settings.cors,
        debugging=bool(settings.debug_port) and settings.target == "container",
        **kwargs,
    )


class Endpoint:
    """The url target's function: a deployed HTTP endpoint, reached over real HTTP only (`lambda_client`, `invoke`)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r})"

    def invoke_event(self, event: Any, **caller: Any) -> Any:
        raise not_on_target(
            "invoke_event sends a raw event, which an HTTP endpoint does not take; the target is url", target="url"
        )

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        raise not_on_target("logs() needs a container; the target is url", target="url")


class Target:
    """The run's target: makes the function of a spec (once per resolved function) and clients that reach it;
    `close()` ends all. One subclass per `--lambda-target`; `make_target` picks it."""

    name = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._functions: dict[ResolvedFunction, Any] = {}
        self._lock = threading.RLock()

    def header(self) -> list[str]:
        """The report header's lines about the target."""
        raise NotImplementedError

    def session(self) -> LambdaSession:
        """The container target's `LambdaSession` (engine, images, containers); other targets have none."""
        raise not_on_target(f"this needs Docker (the plugin's session); the target is {self.name}", target=self.name)

    @property
    def opened_session(self) -> LambdaSession | None:
        """The session, if one was opened."""
        return None

    def function(self, spec: FunctionSpec | None = None) -> Any:
        """The function of `spec` (default: the configured one) on this target, made once per resolved function: a
        `LambdaContainer`, an `InProcessFunction`, a `DeployedFunction`, or on `url` the `Endpoint`."""
        fn = (spec or FunctionSpec()).resolve(self.settings)
        with self._lock:
            if fn not in self._functions:
                self._functions[fn] = self._make(fn)
            return self._functions[fn]

    def _make(self, fn: ResolvedFunction) -> Any:
        raise NotImplementedError

    def client(self, function: Any) -> httpx.Client:
        """An `httpx.Client` whose requests reach `function` (this target's) the way this target does."""
        import httpx

        # At the front's own HTTPS address and stage, as on AWS: Secure cookies come back, and a request for
        # another host or outside the stage is answered as the front would.
        transport = transport_for(self.settings, function, bound=True)
        return httpx.Client(base_url=transport.base_url, transport=transport)

    def close(self, *, wait: bool = True) -> None:
        """End what the target started: containers removed (or kept, with `keep`), in-process functions closed;
        `wait=False`: the container target's removals may finish in the background (`LambdaSession.close`)."""
        with self._lock:
            for function in self._functions.values():
                close = getattr(function, "close", None)
                if close is not None:
                    close()
            self._functions.clear()


class ContainerTarget(Target):
    """`container`: the image built and run under aws-lambda-rie, through the session (which keeps its containers)."""

    name = "container"

    def __init__(self, settings: Settings, open_session: Callable[[], LambdaSession]) -> None:
        super().__init__(settings)
        self._open_session = open_session
        self._session: LambdaSession | None = None
        self.early: EarlyStart | None = None

    def header(self) -> list[str]:
        from .engine.reach import header as reach_header  # not at import: every pytest start imports this module

        s = self.settings
        what = f"image {s.image}" if s.image else f"dockerfile {s.dockerfile_path}"
        scale = f", concurrency {s.concurrency} (a container each)" if s.concurrency > 1 else ""
        scale += ", containers reused across runs (--lambda-reuse)" if s.reuse else ""
        return [
            f"lambda-container: target container, {what}, port {s.port or 'any'}, events {s.front}, "
            f"timeout {s.timeout:g}s{scale}",
            f"lambda-container: {s.limits.header()}",
            reach_header(),
        ]

    def session(self) -> LambdaSession:
        with self._lock:
            if self._session is None:
                self._session = self._open_session()
            return self._session

    @property
    def opened_session(self) -> LambdaSession | None:
        return self._session

    def start_early(self) -> EarlyStart:
        """Start the configured function now, in the background (its engine and image first: `EarlyStart.hold`); its
        first use waits for what is left."""
        # Imported here, as the session is: nothing under container/ is loaded by a run that starts nothing.
        from .container.early import EarlyStart

        with self._lock:
            if self.early is None:
                self.early = EarlyStart(
                    lambda: self.session().container(ahead=True),
                    discard=lambda: self.session().drop(),  # its container only: the session may serve others
                    prepare=lambda: self.session().prepare(),
                )
            return self.early

    def function(self, spec: FunctionSpec | None = None) -> Any:
        spec = spec or FunctionSpec()
        if self.early is not None and spec.resolve(self.settings) == FunctionSpec().resolve(self.settings):
            self.early.wait()  # its failure is the function's: raised here, not tried again
        # The session keeps one container per resolved function, and revives a stopped one.
        return self.session().container(spec)

    def close(self, *, wait: bool = True) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close(wait=wait)


class InProcessTarget(Target):
    """`inprocess`: the handler imported into this process and called directly: no Docker at all."""

    name = "inprocess"

    def header(self) -> list[str]:
        s = self.settings
        source = f"source {s.source}" if s.source else "source from the Dockerfile"
        return [
            f"lambda-container: target inprocess (no Docker), {source}, events {s.front}, "
            f"timeout {s.timeout:g}s, memory {s.memory} MB as told to the handler",
            "lambda-container: in-process, the sandbox does not apply: no read-only filesystem, memory or CPU "
            "limits; the function's environment is seen by the handler only",
        ]

    def _make(self, fn: ResolvedFunction) -> Any:
        from .inprocess import function as inprocess

        return inprocess.load(self.settings, fn)


class DeployedTarget(Target):
    """A target that reaches the one deployed function: a spec asking for any other is refused."""

    def function(self, spec: FunctionSpec | None = None) -> Any:
        spec = spec or FunctionSpec()
        if spec.resolve(self.settings) != FunctionSpec().resolve(self.settings):
            asked = ", ".join(f"{k}={v!r}" for k, v in vars(spec).items() if v not in (None, ()))
            raise not_on_target(
                f"the {self.name} target reaches the one deployed function; this asks for another ({asked}): "
                "test it on the container or inprocess target, or give it its own run",
                target=self.name,
            )
        return super().function(spec)


class UrlTarget(DeployedTarget):
    """`url`: a deployed HTTP endpoint reached over real HTTP; nothing built or started."""

    name = "url"

    def header(self) -> list[str]:
        s = self.settings
        auth = ", signed with SigV4 (iam)" if s.url_auth == "iam" else ""
        return [f"lambda-container: target url {s.url}{auth}: real HTTP, nothing built or started"]

    def _make(self, fn: ResolvedFunction) -> Any:
        assert self.settings.url is not None  # Settings refuses the url target without one
        return Endpoint(self.settings.url)

    def client(self, function: Any) -> httpx.Client:
        import httpx

        from .deployed import invoke_api as remote
        from .fronts.transport import HttpOnlyTransport

        # A deployed stage is slow to wake: the function's timeout and a margin, not httpx's 5 s default.
        return httpx.Client(
            base_url=function.url,
            transport=HttpOnlyTransport(httpx.HTTPTransport()),
            auth=remote.url_auth(self.settings),
            timeout=self.settings.timeout + DEPLOYED_MARGIN,
        )


class FunctionTarget(DeployedTarget):
    """`function`: a deployed function through Lambda's Invoke API."""

    name = "function"

    def header(self) -> list[str]:
        s = self.settings
        endpoint = f" at {s.endpoint_url}" if s.endpoint_url else ""
        return [f"lambda-container: target function {s.function}{endpoint} (Lambda Invoke API), events {s.front}"]

    def _make(self, fn: ResolvedFunction) -> Any:
        from .deployed import invoke_api as remote

        return remote.DeployedFunction.from_settings(self.settings)


def make_target(settings: Settings, open_session: Callable[[], LambdaSession]) -> Target:
    """The target `settings.target` names; `open_session` opens the container target's session on first use."""
    if settings.target == "container":
        return ContainerTarget(settings, open_session)
    kinds: dict[str, type[Target]] = {"inprocess": InProcessTarget, "url": UrlTarget, "function": FunctionTarget}
    return kinds[settings.target](settings)
