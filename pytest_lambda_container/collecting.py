"""The configured function started while pytest collects (issue 17: the build check, the container's start and its
init overlap pytest's own work; the first test waits only for what is left).

It starts as soon as collection finds a test that reaches the configured function (`lambda_container`,
`lambda_client`, `invoke`), in a background thread (`container.early`); a selection left with no such test (`-k`, `-m`,
`--deselect`, a `lambda_targets` marker) has it removed at once. Never under `--co` or `--setup-plan`, nor on the
other targets; xdist's controller collects nothing, each worker starts its own. A failure (a build, a handler that
cannot load) is raised at the first test that needs the function, once.
"""

from __future__ import annotations

import pytest

from .targets import ContainerTarget

#: The fixtures that reach the configured function (unless a conftest overrides `lambda_container`).
REACHING = frozenset({"lambda_container", "lambda_client", "invoke"})


def reaches_function(item: pytest.Item, marker: str) -> bool:
    """Whether `item` will call the configured function on the container target."""
    targets = item.get_closest_marker(marker)
    if targets is not None and "container" not in targets.args:
        return False
    return bool(REACHING & set(getattr(item, "fixturenames", ())))


def scheduled_by_function(item: pytest.Item) -> bool:
    """Whether xdist's controller decides which worker runs `item` by the function it reaches (`parallel.py`): a test
    parametrized over `lambda_container`, which this worker may never run, so starting its function here would be a
    cold start for nothing; the worker that runs it starts it at its first test."""
    grouped = getattr(item.config, "workerinput", {}).get("lambda_container_groups")
    return bool(grouped) and "lambda_container" in getattr(getattr(item, "callspec", None), "params", {})


class StartWhileCollecting:
    """pytest hooks: start the configured function at the first test that reaches it, drop it if none is left."""

    def __init__(self, target: ContainerTarget, marker: str) -> None:
        self.target = target
        self.marker = marker

    @staticmethod
    def wanted(config: pytest.Config) -> bool:
        """Whether this run runs tests at all (not `--co`, `--setup-plan`)."""
        return not (config.option.collectonly or getattr(config.option, "setupplan", False))

    @pytest.hookimpl
    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if self.target.early is None and reaches_function(item, self.marker) and not scheduled_by_function(item):
            self.target.start_early()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        early = self.target.early
        if early is not None and not any(reaches_function(item, self.marker) for item in session.items):
            early.discard()
