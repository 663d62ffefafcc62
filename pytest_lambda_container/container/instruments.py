"""What `--lambda-coverage` and `--lambda-debug-port` add to a session's containers (`inside`), and the merge of the
coverage at the end (`measure`). Nothing of it runs unless asked for."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..build.image import ImageInfo
from ..config.function import ResolvedFunction
from ..config.settings import Settings
from ..engine.client import Engine
from . import delivery, measure
from .inside import DATA_DIR, Harvest, Inside
from .launch import LaunchPlan

Log = Callable[[str], None]


class Instruments:
    """Coverage and a debugger in the containers of one session."""

    def __init__(self, settings: Settings, log: Log) -> None:
        self.settings = settings
        self.log = log
        self._collector: measure.Collector | None = None
        self._said: set[str] = set()

    def _once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.log(line)

    @classmethod
    def of(cls, settings: Settings, log: Log) -> Instruments | None:
        """The instruments `settings` ask for, or None (the containers run as they are)."""
        return cls(settings, log) if settings.coverage else None

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
            plan = self._lift_cpu(plan)
            self._once(f"coverage inside the container: {mapping.container} is measured as {mapping.host}")
        inside = Inside(coverage_include=include, branch=bool(self._collector and self._collector.branch))
        volumes = {delivery.deliver(engine, b, helper_image=info.id): b.mount for b in inside.bundles()}
        return plan.with_inside(inside, volumes, harvest=harvest)

    def _lift_cpu(self, plan: LaunchPlan) -> LaunchPlan:
        """The tracer slows the function several times over under the sandbox's CPU share (Lambda's, for the memory):
        with coverage on, the function gets the host's cores unless `--lambda-cpus` says otherwise, so that a test
        that passes does not time out for being measured."""
        limits = plan.sandbox
        if limits is None or not limits.enabled or self.settings.cpus is not None:
            return plan
        lifted = dataclasses.replace(limits, cpus=float(limits.host_cpus))
        if lifted.vcpus > limits.vcpus:
            self._once(
                f"coverage: the function gets {lifted.vcpus:g} vCPU instead of Lambda's {limits.vcpus:.2f} for its "
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
