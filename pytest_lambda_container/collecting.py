"""The configured function started while pytest collects (issue 17: the build check, the container's start and its
init overlap pytest's own work; the first test waits only for what is left).

It starts as soon as collection finds a test that reaches the configured function (`lambda_container`,
`lambda_client`, `invoke`), in a background thread (`container.early`); a selection left with no such test (`-k`, `-m`,
`--deselect`, a `lambda_targets` marker) has it removed at once. Never under `--co` or `--setup-plan`, nor on the
other targets; xdist's controller collects nothing, each worker starts its own. A failure (a build, a handler that
cannot load) is raised at the first test that needs the function, once.

Earlier still, when the last run of the same command line reached the function (`container.forecast`): as soon as
pytest registers the plugin (it has read its ini file, and loads the plugins that come after this one next), with the
settings that run had, unless they kept the container past the run (`keep`, `reuse`); kept when pytest has parsed
this run's own (before the conftests) and they are the same, else removed once its start is done (before the run's
own starts, where both publish the same port) and started anew with them. The engine and image are made ready while
pytest waits (`HOLD`), so that the CPU goes to the start's own imports and requests first (one interpreter lock: the
two would otherwise take turns, and the container start, the long wait, would begin later), and pytest loads the other
plugins, imports the conftests and collects while the container starts and inits.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from .config.settings import Settings, as_json, from_json
from .container import forecast
from .errors import ConfigError
from .parallel import option_words
from .targets import ContainerTarget, Target

#: The target started early (`start_at_registration`, `start_before_conftests`), until pytest_configure takes it.
EARLY_TARGET = pytest.StashKey[ContainerTarget]()

#: How long pytest waits for the engine and image before it goes on with its own start: the imports and round trips
#: of a ready image take ~0.3 s; a build takes longer, and shows its progress once pytest's terminal is up.
HOLD = 2.0
#: The command line options under which a run runs no test: nothing is started for them.
NO_TESTS = ("collectonly", "setupplan", "showfixtures", "show_fixtures_per_test", "markers", "help", "version")

#: The fixtures that reach the configured function (unless a conftest overrides `lambda_container`).
REACHING = frozenset({"lambda_container", "lambda_client", "invoke"})
#: What those fixtures import at their first use (the transport, the event formats: ~0.01 s): imported while the
#: start goes on, once collection is done, so that the first test waits only for the start.
CLIENT_MODULES = ("pytest_lambda_container.fronts.transport",)


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


def command_line(config: pytest.Config) -> str:
    """The run's command line, as `container.forecast` remembers it."""
    return forecast.key(config.rootpath, config.invocation_params.dir, config.invocation_params.args)


def forecast_applies(config: pytest.Config) -> bool:
    """Whether, before its conftests, this run may start the configured function from the last run's forecast: one
    that runs tests in this process (xdist's workers are given theirs by the controller: `container.handoff`)."""
    known = config.known_args_namespace
    if any(getattr(known, name, False) for name in NO_TESTS) or os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    return not getattr(known, "numprocesses", None) and getattr(known, "dist", "no") in ("no", None)


def start_at_registration(config: object, make_target: Callable[[pytest.Config, Settings], Target]) -> None:
    """If the last run of this command line reached the configured function, start it now with that run's settings,
    and wait (at most `HOLD`) while its engine, image and plan get ready: at the plugin's registration (`config`: the
    plugin manager's "pytestconfig"), before pytest loads the plugins that come after it (`start_before_conftests`, or
    `started_before` where the plugin is registered later, checks the settings). Never an error: a memory that cannot
    serve is no forecast."""
    try:
        if not isinstance(config, pytest.Config) or not forecast_applies(config) or distributes(config):
            return
        memory = forecast.recall(command_line(config))
        if memory is None or not memory.reached or memory.settings is None:
            return
        remembered = from_json(memory.settings)
    except Exception:  # registered before pytest read its ini file, a memory another version wrote: no forecast
        return
    # Not one that outlives the run (kept, reused) on a memory: this run may not want it kept.
    if not (remembered.keep or remembered.reuse):
        _start(config, remembered, make_target)


def distributes(config: pytest.Config) -> bool:
    """Whether the command line, PYTEST_ADDOPTS or the ini file's addopts give xdist's `-n` or `--dist`: at the
    registration, xdist may not have registered its options yet."""
    words = option_words(config)
    return any(w.startswith(("-n", "--numprocesses", "--dist")) for w in words)


def start_before_conftests(
    config: pytest.Config, settings: Callable[[], Settings], make_target: Callable[[pytest.Config, Settings], Target]
) -> None:
    """If the last run of this command line reached the configured function, start it now, and wait (at most `HOLD`)
    while its engine, image and plan get ready; or keep what `start_at_registration` started, if this run's settings
    are that one's. `settings()`: as the options parsed so far say."""
    started = config.stash.get(EARLY_TARGET, None)
    # Asked again now that every plugin's options are parsed (xdist's `-n` among them).
    applies = forecast_applies(config)
    reached = applies and (started is not None or forecast.reached_last_time(command_line(config)))
    resolved = None
    if reached:
        try:
            resolved = settings()
        except ConfigError:
            pass  # said once, at pytest_configure
    if started is not None:
        if started.settings == resolved:
            return
        _take(config)
        _drop(config, started, instead=resolved)
    if resolved is not None:
        _start(config, resolved, make_target)


def starts_early(settings: Settings) -> bool:
    """Whether a run of `settings` starts its function early (not with a debugger: the port goes to the first
    function started, which must be one a test calls)."""
    return settings.target == "container" and not settings.debug_port


def _start(config: pytest.Config, settings: Settings, make_target: Callable[[pytest.Config, Settings], Target]) -> None:
    if starts_early(settings):
        target = make_target(config, settings)
        assert isinstance(target, ContainerTarget)
        config.stash[EARLY_TARGET] = target
        # Whatever ends the run before it takes the start (a usage error, a conftest that fails), it goes with it.
        config.add_cleanup(lambda: drop_early(config))
        target.start_early().hold(HOLD)


def started_before(config: pytest.Config, settings: Settings) -> ContainerTarget | None:
    """The target started early, taken by the run if its settings are still the run's (else it is dropped)."""
    started = _take(config)
    if started is not None and started.settings != settings:
        _drop(config, started, instead=settings)  # a conftest changed what runs: what the forecast started is not it
        return None
    return started


def _take(config: pytest.Config) -> ContainerTarget | None:
    started = config.stash.get(EARLY_TARGET, None)
    if started is not None:
        del config.stash[EARLY_TARGET]
    return started


def _drop(config: pytest.Config, started: ContainerTarget, *, instead: Settings | None) -> None:
    """Drop what was started early, for `instead` (the settings the run starts in its place, if any): removed once its
    start is done, and before the run's own starts where both publish the same port (it would find the port taken,
    and move). Where the run starts nothing early, it remembers nothing at its collection: the memory is corrected
    here, or the next run of the command line would start (and drop) the same container again."""
    if started.early is not None:
        started.early.discard()
        if instead is not None and instead.port and instead.port == started.settings.port:
            started.early.settle()
    if instead is None or not starts_early(instead):
        forecast.remember(command_line(config), False)


def drop_early(config: pytest.Config) -> None:
    """Remove what was started early and not taken by the run (it ends before), once its start is done."""
    started = _take(config)
    if started is not None and started.early is not None:
        started.early.discard()


class StartWhileCollecting:
    """pytest hooks: start the configured function at the first test that reaches it, drop it if none is left; and
    remember whether any did (`remember`: a run of its own, not xdist's nor one nested in another)."""

    def __init__(self, target: ContainerTarget, marker: str, *, remember: bool) -> None:
        self.target = target
        self.marker = marker
        self.remember = remember

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
        reached = any(reaches_function(item, self.marker) for item in session.items)
        if early is not None and not reached:
            early.discard()
        elif early is not None:
            from .engine import sdk  # here: a run that starts nothing imports no engine module

            sdk.preload(*CLIENT_MODULES)
        if self.remember:
            forecast.remember(command_line(session.config), reached, settings=as_json(self.target.settings))
