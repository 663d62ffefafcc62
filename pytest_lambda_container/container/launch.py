"""The launch plan, pure: an image and the function's settings → how to run it under the emulator.

No Docker here: the plan is data (entrypoint and command for both kinds of image, environment, labels, mounts,
the start-up check), so every decision made before a container exists is testable without one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..build.image import ImageInfo
from ..build.image_config import RUNTIME_START
from ..config.defaults import DEFAULT_TIMEOUT
from ..config.environment import environment as lambda_environment
from ..config.environment import function_environment
from ..engine.reach import LOCAL, Reach
from ..errors import ContainerError
from .inside import Harvest, Inside
from .protocol import RIE_DIR, RIE_MOUNT
from .sandbox import Sandbox
from .startup import StartupCheck, check_for

if TYPE_CHECKING:
    from .watch_inside import InsideWatch

__all__ = ["CONTAINER_PORT", "RIE_DIR", "RIE_MOUNT", "TIMEOUT_VARIABLE", "LaunchPlan", "emulator_command", "plan"]

CONTAINER_PORT = "8080/tcp"
#: The emulator's budget, in whole seconds, for the init and the call together (`function_environment` sets it).
TIMEOUT_VARIABLE = "AWS_LAMBDA_FUNCTION_TIMEOUT"


@dataclass(frozen=True)
class LaunchPlan:
    """How to run one function's container: everything `docker create` needs but the port and the name."""

    image: ImageInfo
    #: None keeps the image's own entrypoint (AWS base images start the emulator themselves).
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...]
    environment: Mapping[str, str]
    labels: Mapping[str, str]
    #: Volume name → path in the container, mounted read-only (filled by container/delivery.py).
    mounts: Mapping[str, str]
    timeout: float
    #: What to run in the new container to tell that the runtime can start and the handler loads.
    startup_check: StartupCheck | None = None
    #: What this engine needs on top (Podman's ulimits).
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    #: Lambda's limits (None or disabled: a plain `docker run`).
    sandbox: Sandbox | None = None
    #: How the tests reach the container (engine/reach.py): the port published where, or the network it joins.
    reach: Reach = LOCAL
    #: More tmpfs mounts (path → options) on top of the sandbox's /tmp.
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    #: A folder to read out of the container before it is removed (coverage data).
    harvest: Harvest | None = None
    #: More container ports (e.g. "5678/tcp") published on 127.0.0.1, each on the host port given.
    published: Mapping[str, int] = field(default_factory=dict)
    #: The memory watch, where it runs inside the container (watch_inside.py); None: on the host, or none.
    memwatch: InsideWatch | None = None

    @property
    def emulator_timeout(self) -> float:
        """The emulator's budget for a call (its init included): the function's timeout, or more where the plugin
        keeps the function's timeout itself (`with_init_room`)."""
        return float(self.environment.get(TIMEOUT_VARIABLE) or math.ceil(self.timeout))

    @property
    def has_init_room(self) -> bool:
        """Whether the emulator's budget is past the function's timeout (in the emulator's whole seconds) to fit the
        init (`with_init_room`): the plugin then keeps the timeout, and the handler's deadline, itself."""
        return self.emulator_timeout > max(1, math.ceil(self.timeout))

    def with_init_room(self, init_limit: float) -> LaunchPlan:
        """This plan with an emulator budget that fits an init of up to `init_limit` seconds where the function's
        timeout is shorter: the emulator counts the init against it, Lambda does not (`warmup`). The plugin then
        ends each call at the function's timeout itself."""
        room = max(math.ceil(self.timeout), math.ceil(init_limit) + 1)
        return dataclasses.replace(self, environment={**self.environment, TIMEOUT_VARIABLE: str(room)})

    def as_started(self, env: list[str]) -> LaunchPlan:
        """This plan with the emulator budget a container was started with (`env`, Docker's `Config.Env`): one an
        earlier run gave room for the init (`--lambda-reuse`)."""
        started = dict(item.split("=", 1) for item in env if item.startswith(f"{TIMEOUT_VARIABLE}="))
        return dataclasses.replace(self, environment={**self.environment, **started}) if started else self

    def with_inside(self, inside: Inside, volumes: Mapping[str, str], *, harvest: Harvest | None) -> LaunchPlan:
        """This plan with `inside` started in the container: its bundles' `volumes` (volume → mount), its variables
        (PYTHONPATH prepended to the function's, else the image's), its tmpfs, its data read out at the end."""
        base = {**self.image.config.env, **self.environment}
        return dataclasses.replace(
            self,
            environment={**self.environment, **inside.environment(base)},
            mounts={**self.mounts, **volumes},
            tmpfs={**self.tmpfs, **inside.tmpfs},
            harvest=harvest,
        )

    def with_memwatch(self, watch: InsideWatch, volume: str, mount: str, tmpfs: Mapping[str, str]) -> LaunchPlan:
        """This plan with the memory watch inside its container: its watcher's `volume` at `mount`, its `tmpfs`."""
        return dataclasses.replace(
            self, memwatch=watch, mounts={**self.mounts, volume: mount}, tmpfs={**self.tmpfs, **tmpfs}
        )

    def create_options(self, *, name: str, port: int, vcpus: float | None = None) -> dict[str, Any]:
        """Keyword arguments of the docker SDK's `containers.create`, published on `port` (0: any) where the reach
        says (127.0.0.1 unless the tests run elsewhere), or on the tests container's network and published nowhere;
        under the sandbox, with `vcpus` of CPU to start with (default: Lambda's share)."""
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "command": list(self.command),
            "environment": dict(self.environment),
            "labels": dict(self.labels),
            **self.engine_options,
            **(self.sandbox.create_options(vcpus) if self.sandbox else {}),
        }
        # Lambda's limits over what an engine needs by default (Podman's ulimits within the host's): one per name.
        ulimits = {_ulimit_name(u): u for u in [*self.engine_options.get("ulimits", []), *options.get("ulimits", [])]}
        if ulimits:
            options["ulimits"] = list(ulimits.values())
        if self.reach.publish_on is not None:
            # No wider than the tests need: loopback when they run on the engine's host (engine/reach.py).
            options["ports"] = {CONTAINER_PORT: (self.reach.publish_on, port or None)}
        if self.published:
            # Loopback only, always (a debugger's port grants code execution).
            options.setdefault("ports", {}).update(
                {inside: ("127.0.0.1", host) for inside, host in self.published.items()}
            )
        if self.reach.network is not None:
            options["network"] = self.reach.network
        if self.tmpfs:
            options["tmpfs"] = {**options.get("tmpfs", {}), **self.tmpfs}
        if self.entrypoint is not None:
            options["entrypoint"] = list(self.entrypoint)
        if self.mounts:
            options["volumes"] = {volume: {"bind": inside, "mode": "ro"} for volume, inside in self.mounts.items()}
        return options


def _ulimit_name(ulimit: Mapping[str, Any]) -> str:
    # The docker SDK's Ulimit says Name; a plain dict of its keyword arguments, name.
    return str(ulimit.get("Name", ulimit.get("name")))


def plan(
    image: ImageInfo,
    *,
    labels: Mapping[str, str],
    emulator_volume: str | None = None,
    mounts: Mapping[str, str] | None = None,
    handler: str | None = None,
    environment: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    engine_options: Mapping[str, Any] | None = None,
    sandbox: Sandbox | None = None,
    reach: Reach = LOCAL,
) -> LaunchPlan:
    """The plan to run `image` under the emulator (`emulator_volume`, the volume of `emulator.bundle`, is needed
    unless the image runs its own), with the function's whole `environment` (`ResolvedFunction.environment()`;
    default: Lambda's own for `timeout`) and more volumes to mount read-only (`mounts`: volume → path)."""
    entrypoint, command = emulator_command(image, handler)
    if entrypoint is not None and emulator_volume is None:
        raise ContainerError(f"image {image.ref} does not run the emulator itself, and no aws-lambda-rie was given")
    if environment is None:
        memory = sandbox.memory if sandbox and sandbox.enabled else None
        environment = function_environment(lambda_environment(), timeout=timeout, memory=memory, env={})
    return LaunchPlan(
        image=image,
        entrypoint=None if entrypoint is None else tuple(entrypoint),
        command=tuple(command),
        # Never the host's: the container sees only these, whatever AWS settings the host has.
        environment=dict(environment),
        labels=dict(labels),
        mounts={**({emulator_volume: RIE_DIR} if entrypoint is not None and emulator_volume else {}), **(mounts or {})},
        timeout=timeout,
        startup_check=check_for(image, command),
        engine_options=dict(engine_options or {}),
        sandbox=sandbox,
        reach=reach,
    )


def emulator_command(image: ImageInfo, handler: str | None) -> tuple[list[str] | None, list[str]]:
    """`(entrypoint, command)` to run `image` under the emulator; entrypoint None keeps the image's own.

    AWS base images start the emulator from their entrypoint; any other image gets the mounted emulator as
    entrypoint, with the image's ENTRYPOINT + CMD (or handler) as the runtime command it starts, exactly as
    `docker run --entrypoint /aws-lambda/aws-lambda-rie IMAGE python -m awslambdaric app.handler` does.
    """
    entrypoint, args = image.config.command(handler)
    if image.runs_emulator:
        return None, list(args)
    command = [*entrypoint, *args]
    if not command:
        raise ContainerError(
            f"image {image.ref} has neither ENTRYPOINT nor CMD, so there is no runtime to start; give it "
            f"{RUNTIME_START}, or pass --lambda-handler"
        )
    return [RIE_MOUNT], command
