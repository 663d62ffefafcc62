"""One Docker container of a launch plan: create, start, wait until the emulator answers, read logs, remove."""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import httpx
from docker.errors import NotFound
from docker.models.containers import Container

from ..engine import hygiene, reach, sdk
from ..engine.client import Engine
from ..engine.hygiene import LABEL_SESSION
from ..errors import ContainerExited, ContainerNotReady, EngineRefused, LambdaContainerError
from .controls import RunningControls
from .launch import CONTAINER_PORT, LaunchPlan
from .protocol import hide_invocation, split_log_lines

Log = Callable[[str], None]
#: Lines of a container's log that errors about it carry.
LOG_TAIL = 50


def published_port(container: Container, fallback: int) -> int:
    """The host port the emulator's port is published on."""
    binding = (container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT) or []
    return int(binding[0]["HostPort"]) if binding else fallback


def network_address(container: Container, network: str | None) -> str:
    """The container's address on `network` (its first network's, when None); "" when it has none."""
    networks = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
    found = networks.get(network) if network else next(iter(networks.values()), None)
    return str((found or {}).get("IPAddress") or "")


class DockerContainer(RunningControls):
    """A started container, registered for removal from the moment it exists. Use `DockerContainer.run`."""

    def __init__(self, engine: Engine, plan: LaunchPlan, container: Container, *, log: Log = hygiene.warn) -> None:
        self.engine = engine
        self.log = log
        self.plan = plan
        self.container = container
        self.id: str = container.id or ""
        self.name: str = container.name or ""
        self.port = 0
        #: The request id of the plugin's own warm-up call, whose lines `logs()` leaves out (`warmup`).
        self.hidden_request = ""
        #: The duration of the init the warm-up ran, until the first call's report takes it.
        self.init_ms: float | None = None
        #: Its address on the tests container's network, where the tests reach it there (engine/reach.py).
        self.address = ""
        self.harvested_already = False
        #: The CPU it was created with, when not Lambda's share (the init's burst: `warmup.start_vcpus`).
        self.vcpus_at_start: float | None = None

    @property
    def url(self) -> str:
        return reach.url(self.plan.reach, published_port=self.port, container_address=self.address)

    def _locate(self, fallback_port: int) -> None:
        """Read where the engine put the container: its published port, its address on the tests' network."""
        self.port = published_port(self.container, fallback_port)
        self.address = network_address(self.container, self.plan.reach.network)

    @classmethod
    def run(
        cls, engine: Engine, plan: LaunchPlan, *, port: int, ready_timeout: float, log: Log, vcpus: float | None = None
    ) -> DockerContainer:
        """Start a container of `plan` on `port` (0, or if it is taken: any free port) where its reach publishes it,
        ready to invoke; with `vcpus` of CPU under the sandbox (default: Lambda's share), `vcpus_at_start`."""
        try:
            return cls._run(engine, plan, port, ready_timeout, log, vcpus)
        except EngineRefused as exc:
            if not (port and ("already allocated" in exc.reason or "address already in use" in exc.reason)):
                raise
        started = cls._run(engine, plan, 0, ready_timeout, log, vcpus)
        busy = f"port {port} on {plan.reach.publish_on} is busy"
        log(f"{busy}; the emulator is on port {started.port} instead ({started.url})")
        return started

    @classmethod
    def _run(
        cls, engine: Engine, plan: LaunchPlan, port: int, ready_timeout: float, log: Log, vcpus: float | None
    ) -> DockerContainer:
        name = f"plc-{plan.labels.get(LABEL_SESSION, 'x')}-{uuid.uuid4().hex[:6]}"
        options = plan.create_options(name=name, port=port, vcpus=vcpus)
        # httpx's transport imports its HTTP core at the first client (~0.05 s, with anyio): done while the engine
        # creates and starts the container, not after, when the readiness probe's client needs it.
        sdk.preload("httpcore")
        with engine.errors(f"the creation of a container of {plan.image.ref}"):
            created = engine.client.containers.create(plan.image.id, **options)
        self = cls(engine, plan, created, log=log)
        self.vcpus_at_start = vcpus
        hygiene.register(self)  # before it starts: whatever happens next, it is removed
        try:
            with engine.errors(f"the start of container {self.name}"):
                created.start()
                created.reload()
            self._locate(port)
            self.wait_ready(ready_timeout)
        except BaseException:
            self.remove()
            raise
        return self

    @classmethod
    def adopt(
        cls, engine: Engine, plan: LaunchPlan, container: Container, *, ready_timeout: float, log: Log
    ) -> DockerContainer:
        """A running container that an earlier run started (`--lambda-reuse`), once its emulator answers."""
        self = cls(engine, plan.as_started((container.attrs.get("Config") or {}).get("Env") or []), container, log=log)
        self._locate(0)
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Return once the emulator answers HTTP; raise if the container exits or never answers."""
        began = time.monotonic()
        deadline = began + timeout
        # Never through a proxy: a user's HTTP_PROXY must not catch calls to the container. Plain HTTP: no CA bundle
        # to load (`verify=False` spares it, ~0.08 s of every start; nothing here speaks TLS).
        with httpx.Client(base_url=self.url, trust_env=False, verify=False, timeout=1.0) as probe:
            while True:
                try:
                    # Any HTTP answer means the emulator listens; docker's port proxy alone only resets the connection.
                    probe.get("/")
                    return
                except httpx.TransportError:
                    pass
                # Asked of the engine only while the emulator does not answer: a round trip less when it does.
                self.raise_if_exited("exited before the emulator answered")
                if time.monotonic() > deadline:
                    raise ContainerNotReady(
                        f"container {self.name} ({self.plan.image.ref}) runs, but the emulator did not answer on "
                        f"{self.url} within {timeout:.0f}s",
                        logs=self.logs(tail=LOG_TAIL),
                        container=self.name,
                    )
                # Most emulators answer within a few tries of their start: the first second is polled closely.
                time.sleep(0.01 if time.monotonic() - began < 1 else 0.05)

    def exit_code(self) -> int | None:
        """The exit code if the container has stopped (-1 when it is gone altogether), else None."""
        with self.engine.errors(f"a status read of container {self.name}"):
            try:
                self.container.reload()
            except NotFound:
                return -1
        state = self.container.attrs.get("State") or {}
        if state.get("Running") or state.get("Status") in {"created", "running", "restarting"}:
            return None
        return int(state.get("ExitCode", -1))

    def raise_if_exited(self, what: str, *, within: float = 0.0) -> None:
        """`ContainerExited` (with the log tail) if the container has stopped, or stops `within` seconds."""
        deadline = time.monotonic() + within
        code = self.exit_code()
        while code is None and time.monotonic() < deadline:
            time.sleep(0.05)
            code = self.exit_code()
        if code is not None:
            hint = " (killed, or out of memory)" if code == 137 else ""
            raise ContainerExited(
                f"container {self.name} ({self.plan.image.ref}) {what}: container exited with code {code}{hint}",
                exit_code=code,
                logs=self.logs(tail=LOG_TAIL),
                container=self.name,
            )

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """The container's output (stdout and stderr), its lines apart as a person reads them (`split_log_lines`);
        `tail` lines, or those `since` a UNIX time. Best effort."""
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True}
        if tail is not None:
            kwargs["tail"] = tail
        if since is not None:
            kwargs["since"] = since  # a float: to the sub-second, where a datetime would round to the second
        try:
            with self.engine.errors(f"a log read of container {self.name}"):
                raw = bytes(self.container.logs(**kwargs)).decode("utf-8", "replace")
        except LambdaContainerError:
            return ""
        text = split_log_lines(raw)
        return hide_invocation(text, self.hidden_request) if self.hidden_request else text

    def take_init_ms(self) -> float | None:
        """The warm-up's init duration, once: the first call's report carries it, no later one."""
        init_ms, self.init_ms = self.init_ms, None
        return init_ms

    def harvest(self) -> None:
        """Read the plan's harvest folder (coverage data, on a tmpfs) out of the container into its place on this
        machine, with an exec'd `tar`: `docker cp` cannot read a tmpfs. Best effort, and once."""
        spec = self.plan.harvest
        if spec is None or self.harvested_already or not (self.port or self.address):  # never started: nothing
            return
        self.harvested_already = True
        try:
            code, out, err = self.exec_apart(("tar", "-C", spec.folder, "-cf", "-", "."))
        except LambdaContainerError as exc:
            self.log(f"could not read {spec.folder} out of container {self.name} ({exc}); what it held is lost")
            return
        if code != 0 or not out:
            said = err.decode("utf-8", "replace").strip()
            self.log(f"could not read {spec.folder} out of container {self.name} (tar: {said or code})")
            return
        spec.into.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            for member in tar.getmembers():
                data = tar.extractfile(member) if member.isfile() else None
                if data is not None:  # flat files only: their names, never a path out of `into`
                    (spec.into / f"{self.name}-{PurePosixPath(member.name).name}").write_bytes(data.read())

    def remove(self) -> None:
        """Stop and remove the container (idempotent). What cannot be removed is named, with how to remove it."""
        self.harvest()
        hygiene.unregister(self)
        try:
            with self.engine.errors(f"the removal of container {self.name}"):
                self._force_remove()
        except EngineRefused as exc:
            if exc.status_code == 409 and "in progress" in exc.reason:
                return  # being removed already
            self._leftover(exc)
        except (LambdaContainerError, KeyError, RuntimeError) as exc:
            self._leftover(exc)

    def _force_remove(self) -> None:
        try:
            self.container.remove(force=True)
        except NotFound:
            pass
        except (KeyError, RuntimeError):
            # requests reads os.environ (for proxies) at every request, and a removal in the background (the
            # session's end: `LambdaSession.close(wait=False)`) can meet another thread changing it (pytest's
            # PYTEST_CURRENT_TEST): the read fails, nothing reached the engine. Once more, then it is a leftover.
            try:
                self.container.remove(force=True)
            except NotFound:
                pass

    def release(self) -> None:
        """Let go of the container without removing it (it is kept for debugging)."""
        self.harvest()
        hygiene.unregister(self)

    def _leftover(self, exc: Exception) -> None:
        # Nothing more can be done from here (the engine is gone, say): at least say what is left, and how to
        # remove it. The next session's orphan sweep removes it too.
        self.log(f"could not remove container {self.name} ({exc}); remove it with `docker rm -f {self.name}`")


class ServingContainer:
    """Reads of the Docker container now serving a function: the one a restart replaces, None once removed."""

    _current: DockerContainer | None = None

    @property
    def container(self) -> Container | None:
        """The docker SDK's container now serving the function (None once removed)."""
        return self._current.container if self._current else None

    @property
    def id(self) -> str:
        return self._current.id if self._current else ""

    @property
    def name(self) -> str:
        return self._current.name if self._current else ""

    @property
    def port(self) -> int:
        return self._current.port if self._current else 0

    @property
    def url(self) -> str:
        return self._current.url if self._current else ""

    def exit_code(self) -> int | None:
        """The exit code if the container has stopped (-1 when it is gone), else None."""
        return self._current.exit_code() if self._current else -1

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        """The container's output (stdout and stderr); `tail` lines, or those `since` a UNIX time."""
        return self._current.logs(tail=tail, since=since) if self._current else ""
