"""The launch plan, pure: an image and the function's settings → how to run it under the emulator.

No Docker here: the plan is data (entrypoint and command for both kinds of image, environment, labels, mounts,
the handler check), so every decision made before a container exists is testable without one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ContainerError, HandlerImportError
from .image import ImageInfo

CONTAINER_PORT = "8080/tcp"
RIE_MOUNT = "/aws-lambda/aws-lambda-rie"
#: Lambda always sets the region; the emulator reads nothing else of the host's AWS settings.
REGION = "us-east-1"

# Loads the handler the way the Python runtime does (module path, then the attribute), without invoking it.
HANDLER_CHECK = r"""
import importlib, os, sys, traceback
handler = sys.argv[1]
module_name, _, function = handler.rpartition(".")
if not module_name or not function:
    print(f"Runtime.MalformedHandlerName: Bad handler '{handler}': not enough values to unpack"); sys.exit(3)
sys.path.insert(0, os.getcwd())
try:
    module = importlib.import_module(module_name.replace("/", "."))
except Exception as exc:
    traceback.print_exc(file=sys.stdout)  # one stream: the verdict below must come out last
    print(f"Runtime.ImportModuleError: Unable to import module '{module_name}': {exc}"); sys.exit(3)
if not hasattr(module, function):
    print(f"Runtime.HandlerNotFound: Handler '{function}' missing on module '{module_name}'"); sys.exit(3)
"""
#: The check's exit status when the handler cannot be loaded (its last output line says why).
HANDLER_CHECK_FAILED = 3


@dataclass(frozen=True)
class HandlerCheck:
    """A command that imports the handler inside the container without invoking it."""

    handler: str
    argv: tuple[str, ...]
    workdir: str
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchPlan:
    """How to run one function's container: everything `docker create` needs but the port and the name."""

    image: ImageInfo
    #: None keeps the image's own entrypoint (AWS base images start the emulator themselves).
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...]
    environment: Mapping[str, str]
    labels: Mapping[str, str]
    #: Host path → path in the container, mounted read-only.
    mounts: Mapping[str, str]
    timeout: float
    handler_check: HandlerCheck | None = None
    #: What this engine needs on top (Podman's ulimits).
    engine_options: Mapping[str, Any] = field(default_factory=dict)

    def create_options(self, *, name: str, port: int) -> dict[str, Any]:
        """Keyword arguments of the docker SDK's `containers.create`, published on 127.0.0.1:`port` (0: any)."""
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "command": list(self.command),
            "environment": dict(self.environment),
            "labels": dict(self.labels),
            # Loopback only: the function is reachable from this machine, never from the network.
            "ports": {CONTAINER_PORT: ("127.0.0.1", port or None)},
            **self.engine_options,
        }
        if self.entrypoint is not None:
            options["entrypoint"] = list(self.entrypoint)
        if self.mounts:
            options["volumes"] = {host: {"bind": inside, "mode": "ro"} for host, inside in self.mounts.items()}
        return options


def plan(
    image: ImageInfo,
    *,
    labels: Mapping[str, str],
    rie_path: Path | None = None,
    handler: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    engine_options: Mapping[str, Any] | None = None,
) -> LaunchPlan:
    """The plan to run `image` under the emulator (`rie_path` is needed unless the image runs its own)."""
    entrypoint, command = emulator_command(image, handler)
    if entrypoint is not None and rie_path is None:
        raise ContainerError(f"image {image.ref} does not run the emulator itself, and no aws-lambda-rie was given")
    environment = {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # The emulator reads the function timeout from here, in whole seconds.
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(max(1, math.ceil(timeout))),
        **(env or {}),
    }
    return LaunchPlan(
        image=image,
        entrypoint=None if entrypoint is None else tuple(entrypoint),
        command=tuple(command),
        environment=environment,
        labels=dict(labels),
        mounts={str(rie_path): RIE_MOUNT} if entrypoint is not None else {},
        timeout=timeout,
        handler_check=handler_check(image, command),
        engine_options=dict(engine_options or {}),
    )


def handler_check(image: ImageInfo, command: list[str]) -> HandlerCheck | None:
    """The check for a runtime we can see into (`python -m awslambdaric HANDLER`, or the AWS base image's), or None."""
    if image.runs_emulator and command:
        task_root = image.env.get("LAMBDA_TASK_ROOT", "/var/task")
        # The AWS base image's runtime (awslambdaric and its bootstrap) lives in LAMBDA_RUNTIME_DIR.
        environment = {"PYTHONPATH": image.env.get("LAMBDA_RUNTIME_DIR", "/var/runtime")}
        argv = ("/var/lang/bin/python3", "-c", HANDLER_CHECK, command[0])
        return HandlerCheck(command[0], argv, task_root, environment)
    i = _awslambdaric_at(command)
    if i is not None and i + 2 < len(command):
        handler = command[i + 2]
        return HandlerCheck(handler, (command[i - 1], "-c", HANDLER_CHECK, handler), image.workdir or "/")
    return None


def _awslambdaric_at(command: list[str] | tuple[str, ...]) -> int | None:
    """Where `-m awslambdaric` starts in `PYTHON -m awslambdaric HANDLER`, or None."""
    for i in range(1, len(command) - 1):
        if list(command[i : i + 2]) == ["-m", "awslambdaric"] and "python" in os.path.basename(command[i - 1]):
            return i
    return None


def emulator_command(image: ImageInfo, handler: str | None) -> tuple[list[str] | None, list[str]]:
    """`(entrypoint, command)` to run `image` under the emulator; entrypoint None keeps the image's own.

    AWS base images start the emulator from their entrypoint; any other image gets the mounted emulator as
    entrypoint, with the image's ENTRYPOINT + CMD (or handler) as the runtime command it starts, exactly as
    `docker run --entrypoint /aws-lambda/aws-lambda-rie IMAGE python -m awslambdaric app.handler` does.
    """
    args = [handler] if handler else list(image.cmd)
    if image.runs_emulator:
        return None, args
    entrypoint = list(image.entrypoint)
    i = _awslambdaric_at(entrypoint)
    j = _awslambdaric_at(image.cmd)
    if handler and not image.cmd and i is not None and i + 2 < len(entrypoint):
        # ENTRYPOINT ["python", "-m", "awslambdaric", "app.handler"] and no CMD: the handler is in the entrypoint.
        entrypoint[i + 2] = handler
        args = []
    elif handler and not entrypoint and j is not None and j + 2 < len(image.cmd):
        # CMD ["python", "-m", "awslambdaric", "app.handler"] and no ENTRYPOINT: the handler is at CMD's end.
        args = [*image.cmd[: j + 2], handler, *image.cmd[j + 3 :]]
    command = [*entrypoint, *args]
    if not command:
        raise ContainerError(
            f"image {image.ref} has neither ENTRYPOINT nor CMD, so there is no runtime to start; give it "
            'ENTRYPOINT ["python", "-m", "awslambdaric"] and CMD ["app.handler"], or pass --lambda-handler'
        )
    return [RIE_MOUNT], command


def handler_check_error(check: HandlerCheck, image_ref: str, code: int, output: str) -> HandlerImportError | None:
    """The `HandlerImportError` the check's outcome stands for, or None when the handler loaded."""
    if code != HANDLER_CHECK_FAILED:
        return None
    lines = output.splitlines()
    last = lines[-1] if lines else "Runtime.ImportModuleError: unknown"
    error_type, _, message = last.partition(": ")
    return HandlerImportError(
        error_type,
        f"{message} (handler {check.handler!r} of {image_ref}; the runtime would fail every invoke)",
        lines[:-1],
    )
