"""What `--lambda-coverage` and `--lambda-debug-port` add to a session's containers (`inside`), and the merge of the
coverage at the end (`measure`). Nothing of it runs unless asked for."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..build.image import ImageInfo
from ..config.function import ResolvedFunction
from ..config.settings import Settings
from ..engine.client import Engine
from ..errors import ConfigError
from . import delivery, measure
from .inside import DATA_DIR, DEBUG_PORT, Harvest, Inside
from .launch import TIMEOUT_VARIABLE, LaunchPlan

#: While a debugger is on, the function's timeout (the emulator's budget, the plugin's own deadline and the client's
#: read timeout follow it): stepping through code must not time the call out.
DEBUG_TIMEOUT = 3600.0
#: How long the first call waits for a debugger to attach (debugpy's own wait has no timeout).
DEBUG_WAIT = 120.0

Log = Callable[[str], None]


class Instruments:
    """Coverage and a debugger in the containers of one session."""

    def __init__(self, settings: Settings, log: Log) -> None:
        self.settings = settings
        self.log = log
        self._collector: measure.Collector | None = None
        self._said: set[str] = set()
        #: The function the debugger's port serves: the first one started (a port is published once).
        self._debugged: ResolvedFunction | None = None
        self._debugged_name = ""

    def _once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.log(line)

    @classmethod
    def of(cls, settings: Settings, log: Log) -> Instruments | None:
        """The instruments `settings` ask for, or None (the containers run as they are)."""
        return cls(settings, log) if settings.coverage or settings.debug_port else None

    def apply(self, plan: LaunchPlan, info: ImageInfo, fn: ResolvedFunction, engine: Engine) -> LaunchPlan:
        """`plan` with the instruments started in its container, their files delivered to the engine."""
        include: tuple[str, ...] | None = None
        harvest = None
        if self.settings.coverage:
            if self._collector is None:
                self._collector = measure.Collector(measure.tests_coverage())
            mapping = measure.path_map(info, fn, self.settings.source)
            include = mapping.include()
            harvest = Harvest(DATA_DIR, self._collector.folder_for(mapping))
            plan = self._lift_cpu(plan, "coverage")
            self._once(f"coverage inside the container: {mapping.container} is measured as {mapping.host}")
        debugged = bool(self.settings.debug_port) and self._debugged in (None, fn)
        if debugged and self.settings.debug_port:
            self._debugged = fn
            plan = self._debug(plan, info, fn, engine, self.settings.debug_port)
        elif self.settings.debug_port:
            self._once(
                f"debugger: attached to the first function started ({self._debugged_name}); "
                f"{info.ref} runs without one (one port, one function)"
            )
        inside = Inside(
            coverage_include=include,
            branch=bool(self._collector and self._collector.branch),
            debug_port=DEBUG_PORT if debugged else None,
            debug_wait=DEBUG_WAIT,
        )
        volumes = {delivery.deliver(engine, b, helper_image=info.id): b.mount for b in inside.bundles()}
        return plan.with_inside(inside, volumes, harvest=harvest)

    def _debug(self, plan: LaunchPlan, info: ImageInfo, fn: ResolvedFunction, engine: Engine, port: int) -> LaunchPlan:
        """`plan` with debugpy's port published on 127.0.0.1:`port` and the function's timeout lifted."""
        self._debugged_name = info.ref
        if not engine.reach.same_host:
            # The port grants code execution in the container: never published beyond this machine's loopback.
            raise ConfigError(
                f"--lambda-debug-port publishes a port that runs code in the container, on this machine's loopback "
                f"only, and the engine at {engine.address} is not on this machine: debug against a local engine"
            )
        try:
            mapping = measure.path_map(info, fn, self.settings.source)
            paths = f"path mapping {mapping.container} -> {mapping.host}"
        except ConfigError:
            paths = f"path mapping {info.config.import_root} -> your source folder"
        self._once(
            f"debugger: attach to 127.0.0.1:{port} (debugpy, {paths}); the first call waits up to {DEBUG_WAIT:g}s "
            f"for it; timeouts are lifted to {DEBUG_TIMEOUT:g}s; a runtime restart (a timeout, a crash) drops the "
            "debug session"
        )
        return dataclasses.replace(
            self._lift_cpu(plan, "debugger"),
            timeout=DEBUG_TIMEOUT,
            environment={**plan.environment, TIMEOUT_VARIABLE: f"{DEBUG_TIMEOUT:.0f}"},
            published={**plan.published, f"{DEBUG_PORT}/tcp": port},
        )

    def _lift_cpu(self, plan: LaunchPlan, what: str) -> LaunchPlan:
        """A tracer (coverage's, the debugger's) slows the function several times over under the sandbox's CPU share
        (Lambda's, for the memory): the function gets the host's cores unless `--lambda-cpus` says otherwise, so that
        a test that passes does not time out for being measured (nor the init, for loading the debugger)."""
        limits = plan.sandbox
        if limits is None or not limits.enabled or self.settings.cpus is not None:
            return plan
        lifted = dataclasses.replace(limits, cpus=float(limits.host_cpus))
        if lifted.vcpus > limits.vcpus:
            self._once(
                f"{what}: the function gets {lifted.vcpus:g} vCPU instead of Lambda's {limits.vcpus:.2f} for its "
                "memory, as the tracer slows it (--lambda-cpus sets it)"
            )
        return dataclasses.replace(plan, sandbox=lifted)

    def close(self) -> None:
        """Merge what the containers measured (call once they are removed)."""
        if self._collector is not None:
            merged = self._collector.merge()
            self._collector = None
            self.log(
                f"coverage measured in the containers merged into the tests' coverage: {', '.join(merged)}"
                if merged
                else "coverage: the containers measured nothing (no call reached the function?)"
            )
