"""Coverage and a debugger inside the function's container, without changing the image.

Nothing is installed in the image: the tests' own coverage.py and debugpy are delivered read-only, each in a volume of
its own (`delivery`), with a `sitecustomize` (`inside_boot.py`) first on PYTHONPATH that starts them in every Python
process of the container. PYTHONPATH and `sitecustomize` work for both image styles alike (AWS base images' bootstrap
prepends its own folder to PYTHONPATH and keeps the rest; `AWS_LAMBDA_EXEC_WRAPPER` would work only for them).
Coverage data goes to a small tmpfs of its own (not /tmp, which is the function's and counts against its storage),
read out before the container is removed (`LaunchPlan.harvest`: an exec'd `tar`, as `docker cp` cannot read a tmpfs).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from . import delivery, inside_boot
from .delivery import Bundle

if TYPE_CHECKING:
    from ..engine.client import Engine
    from .launch import LaunchPlan

#: Where the delivered files are mounted, each bundle in a folder of its own.
MOUNT = "/opt/pytest-lambda-container"
#: The tmpfs the coverage data is written to, and its size (a data file per process: kilobytes each).
DATA_DIR = "/var/pytest-lambda-coverage"
DATA_TMPFS = "size=32m,mode=1777"
#: debugpy's port inside the container (its documented default), published on the host port the user gives.
DEBUG_PORT = 5678


@dataclass(frozen=True)
class Harvest:
    """A folder read out of a container before it is removed, into `into` on this machine."""

    folder: str
    into: Path


@dataclass(frozen=True)
class Inside:
    """What runs inside the function's container besides the function: coverage (the files to measure, as container
    paths, `dir/*` for a folder; with branches), a debugger listening on `debug_port` (waited for `debug_wait` s)."""

    coverage_include: tuple[str, ...] | None = None
    branch: bool = False
    debug_port: int | None = None
    debug_wait: float = 0.0
    #: How much earlier than the emulator's the function's deadline is, in ms (`with_function_deadline`).
    deadline_shift_ms: int = 0

    def bundles(self) -> list[Bundle]:
        """The files to deliver: the start-up hook, and the packages it starts."""
        boot = Bundle.of("inside", f"{MOUNT}/boot", {"sitecustomize.py": Path(inside_boot.__file__)})
        wanted = {"coverage": self.coverage_include is not None, "debugpy": bool(self.debug_port)}
        return [boot, *(package_bundle(name) for name, yes in wanted.items() if yes)]

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """The variables that start it, on top of `base` (the image's and the function's): PYTHONPATH prepended."""
        paths = [bundle.mount for bundle in self.bundles()]
        if base.get("PYTHONPATH"):
            paths.append(base["PYTHONPATH"])
        env = {"PYTHONPATH": ":".join(paths)}
        if self.coverage_include is not None:
            env[inside_boot.COVERAGE_DIR] = DATA_DIR
            env[inside_boot.COVERAGE_INCLUDE] = ":".join(self.coverage_include)
            env[inside_boot.COVERAGE_BRANCH] = "1" if self.branch else "0"
        if self.debug_port:
            env[inside_boot.DEBUG_PORT] = str(self.debug_port)
            env[inside_boot.DEBUG_WAIT] = f"{self.debug_wait:g}"
        if self.deadline_shift_ms > 0:
            env[inside_boot.DEADLINE_SHIFT] = str(self.deadline_shift_ms)
        return env

    @property
    def tmpfs(self) -> dict[str, str]:
        return {DATA_DIR: DATA_TMPFS} if self.coverage_include is not None else {}


@functools.cache
def package_bundle(name: str) -> Bundle:
    """An installed package of the tests' environment as a bundle, importable from its mount: its files as installed
    (compiled parts included: the image's Python loads them where its ABI matches, and the package falls back to pure
    Python where it does not, as coverage.py and debugpy both do), caches left out."""
    module = importlib.import_module(name)
    root = Path(module.__file__ or "").parent
    files: dict[str, Path | bytes] = {
        str(PurePosixPath(name, *path.relative_to(root).parts)): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    return Bundle.of(name, f"{MOUNT}/{name}", files)


def with_function_deadline(plan: LaunchPlan, engine: Engine) -> LaunchPlan:
    """`plan`, whose emulator budget is longer than the function's timeout (room for the init: `warmup`), with the
    handler's deadline kept at the function's timeout.

    aws-lambda-rie tells the runtime a deadline of the call's start plus its budget (`AWS_LAMBDA_FUNCTION_TIMEOUT`,
    read once at its first init; internal/lambda/rapidcore/server.go `Invoke`: `invoke.DeadlineNs = Monotime() +
    FunctionTimeout`, set before any re-init), and no request header changes it. So the deadline is moved back in
    the runtime (`inside_boot`), by the budget minus the timeout: the start-up hook is delivered as for coverage, and
    PYTHONPATH names it (the function sees that). Lambda's deadline is the invocation's start plus the timeout, a
    re-init at the invocation included (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
    """
    shift = round((plan.emulator_timeout - plan.timeout) * 1000)
    if shift <= 0:
        return plan
    inside = Inside(deadline_shift_ms=shift)
    boot = inside.bundles()[0]
    if boot.mount in plan.mounts.values():  # coverage or a debugger has it there already: only the variable
        return dataclasses.replace(plan, environment={**plan.environment, inside_boot.DEADLINE_SHIFT: str(shift)})
    volume = delivery.deliver(engine, boot, helper_image=plan.image.id)
    return plan.with_inside(inside, {volume: boot.mount}, harvest=plan.harvest)
