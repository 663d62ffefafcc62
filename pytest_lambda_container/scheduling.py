"""The xdist scheduler of `parallel.py`: `load`, but the tests of one function go to one worker, as one unit."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

from .parallel import groups_file


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

    def remove_node(self, node: Any) -> str | None:
        # xdist's `loadscope` puts a crashed worker's whole workload back in the queue, the test it crashed in as
        # well: that test then crashes the next worker, and the next (a test that kills its worker kills them all).
        # `load` reports it, once, and runs it no more; so here, its unit's other tests going to another worker.
        workload = self.assigned_work.pop(node)
        pending = [(scope, nodeid) for scope, unit in workload.items() for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        crash_scope, crashitem = pending[0]
        workload[crash_scope][crashitem] = True
        self.workqueue.update({scope: unit for scope, unit in workload.items() if not all(unit.values())})
        for other in self.assigned_work:
            self._reschedule(other)
        return str(crashitem)
