"""pytest-xdist: the tests of one function on one worker, so that each function's container starts once per run.

With `-n 2`, xdist's default (`--dist load`) hands tests to whichever worker is free, so a suite parametrized over
functions (`lambda_container` over several Dockerfiles, README's both-images pattern) makes every worker start every
function's container: twice the cold starts of a serial run, on the same cores. Here the controller schedules the
tests of one `lambda_container` parameter as one unit (a scope, as `--dist loadscope` schedules a module), and every
other test one by one, as `load` does; each function's container then starts on one worker, and the workers start
theirs in parallel. A `--dist` the user chose is left alone.

Only the workers collect, so they tell the controller which test is whose: one small file per worker, next to the
run's temporary files, named by xdist's test run id. (`--dist loadgroup` would carry it in the node ids, but under
pytest 9.2 xdist's renaming of them does not take.)
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

PARAMETER = "lambda_container"
#: The worker input that tells a worker to tell the controller its tests' functions.
GROUPING = "lambda_container_groups"


def dist_chosen(config: pytest.Config) -> bool:
    """Whether the user gave `--dist` (command line, PYTEST_ADDOPTS, or the ini file's addopts)."""
    words = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    addopts = config.getini("addopts")
    words += [w for line in (addopts if isinstance(addopts, list) else [addopts]) for w in shlex.split(str(line))]
    return any(str(w) == "--dist" or str(w).startswith("--dist=") for w in words)


def groups_file(testrunuid: str, worker: str) -> Path:
    return Path(tempfile.gettempdir()) / f"pytest-lambda-container-groups-{testrunuid}-{worker}.json"


class FunctionScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """`load`, but the tests of one function (one `lambda_container` parameter) go to one worker, as one unit."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.testrunuid = str(config.getoption("testrunuid"))
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            self._groups = {}
            for path in Path(tempfile.gettempdir()).glob(groups_file(self.testrunuid, "*").name):
                try:
                    self._groups.update(json.loads(path.read_text()))
                    path.unlink()
                except (OSError, ValueError):
                    continue  # unscheduled by function: as plain `load` does, nothing worse
        return self._groups.get(nodeid, nodeid)

    def _reschedule(self, node: Any) -> None:
        # xdist hands a worker its next unit while two of its tests are still pending; a unit here is mostly a
        # container's cold start, so the next one goes to whichever worker is free first, not to the one ahead. (At
        # one: a worker runs its last test only once it knows what comes next, or that nothing does.)
        if not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) <= 1:
            self._assign_work_unit(node)
        elif not node.shutting_down and not self.workqueue:
            node.shutdown()


class Controller:
    """The controller's side: our scheduler where xdist would use `load`, and the workers told to report groups."""

    def __init__(self, config: pytest.Config) -> None:
        self.active = config.getoption("dist", None) == "load" and not dist_chosen(config)
        if self.active and not config.getoption("testrunuid", None):
            config.option.testrunuid = uuid.uuid4().hex  # xdist's own, made here so that the scheduler knows it

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[GROUPING] = self.active

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        return FunctionScheduling(config, log) if self.active else None


class Worker:
    """A worker's side: which collected test is which function's, written for the controller."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        workerinput: dict[str, Any] = getattr(config, "workerinput", {})
        if not workerinput.get(GROUPING):
            return
        groups = {}
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            if PARAMETER in params:
                groups[item.nodeid] = f"{PARAMETER}={params[PARAMETER]}"
        target = groups_file(workerinput["testrunuid"], workerinput["workerid"])
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(groups))
        partial.replace(target)  # whole or not at all, for the controller
