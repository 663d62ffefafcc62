"""The pytest glue: options and ini keys from one table, fixtures, the report header, progress lines on the terminal,
warnings; what reports say of the plugin's errors is report.py's, registered from here."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _leave_to_plain_imports, collecting, skipping
from .collecting import StartWhileCollecting
from .config.function import FunctionSpec
from .config.options import OPTIONS, TARGETS
from .config.settings import Settings, resolve
from .engine.signals import sigterm_ends_like_ctrl_c
from .errors import ConfigError
from .report import Reports, surfaced
from .targets import ContainerTarget, Target, make_target
from .terminal import terminal_log

if TYPE_CHECKING:
    # Imported where used: every pytest start loads this plugin (`--co`, other targets, runs that need no container),
    # and docker's and httpx's imports would cost each of them (issue 17: "cheap when unused").
    import httpx

    from .build.image import ImageInfo
    from .container.session import LambdaSession
    from .fronts.transport import InvokeFunction

SETTINGS = pytest.StashKey[Settings]()
TARGET = pytest.StashKey[Target]()
MARKER = "lambda_targets"
#: How many pytest runs of this process are configured (pytester's in-process runs nest in another).
_CONFIGURED = [0]
#: Set on a config whose configure counted it in `_CONFIGURED` (another plugin's may fail before this one's runs).
_COUNTED = pytest.StashKey[bool]()
#: The session-scoped clients the plugin made: each test starts with their cookie jars empty.
CLIENTS = pytest.StashKey[list["httpx.Client"]]()


class LambdaContainerWarning(pytest.PytestWarning):
    """A warning of pytest-lambda-container, e.g. a build in a run that was given the image to test."""


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _leave_to_plain_imports()  # a run pytester nests has an import hook of its own, marked anew
    group = parser.getgroup("lambda-container", "Lambda container images under aws-lambda-rie")
    for opt in OPTIONS:
        opt.add_to(group.addoption)
        # Booleans are read as strings: pytest's own bool parsing ends in an INTERNALERROR on a typo.
        ini_type = "linelist" if opt.shape in ("pairs", "list") else "string"
        default: Any = [] if opt.shape in ("pairs", "list") else ""
        for key in opt.ini_keys:
            what = opt.help if key == opt.ini else f"same as {opt.ini}"
            parser.addini(key, what, type=ini_type, default=default)  # type: ignore[arg-type]
    if not _CONFIGURED[0]:  # not in a run nested in another (pytester)
        collecting.start_at_registration(pluginmanager.get_plugin("pytestconfig"), _make_target)


def _settings(config: pytest.Config, option: Callable[[str], Any]) -> Settings:
    """The run's settings: the command line's `option(dest)` over the ini file over the defaults."""
    return resolve(
        Path(str(config.rootpath)),
        cli=lambda opt: option("lambda_" + opt.name),
        ini=lambda opt: opt.ini_value(config.getini),
        invocation_dir=Path(str(config.invocation_params.dir)),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before the conftests' imports: the container the last run of this command line needed (collecting.py).
    if not _CONFIGURED[0]:  # not in a run nested in another (pytester)
        config = early_config
        early = lambda dest: getattr(config.known_args_namespace, dest, None)  # noqa: E731  # parsed so far
        collecting.start_before_conftests(config, lambda: _settings(config, early), _make_target)


def pytest_configure(config: pytest.Config) -> None:
    _CONFIGURED[0] += 1
    config.stash[_COUNTED] = True
    skipping.install(config)
    try:
        settings = _settings(config, config.getoption)
        if settings.coverage and settings.target == "container" and not hasattr(config, "workerinput"):
            from .container.measure import tests_coverage

            tests_coverage()  # a worker's own coverage starts later; its session checks then
        if settings.debug_port and settings.target == "container" and _under_xdist(config):
            raise ConfigError(
                "--lambda-debug-port attaches a debugger to one container of one process, and pytest-xdist runs "
                "several: debug without -n"
            )
    except ConfigError as exc:
        collecting.drop_early(config)  # the run ends here: what the forecast started goes with it
        raise pytest.UsageError(f"pytest-lambda-container: {exc}") from None
    config.stash[SETTINGS] = settings
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*targets): run this test only on these targets ({', '.join(TARGETS)}); skipped on the others",
    )
    target = config.stash[TARGET] = collecting.started_before(config, settings) or _make_target(config, settings)
    config.pluginmanager.register(Reports(lambda: target.opened_session), "lambda_container.reports")
    distributed = hasattr(config, "workerinput") or config.getoption("dist", "no") != "no"
    if (
        isinstance(target, ContainerTarget)
        and StartWhileCollecting.wanted(config)
        and collecting.starts_early(settings)
    ):
        early = StartWhileCollecting(target, MARKER, remember=_CONFIGURED[0] == 1 and not distributed)
        config.pluginmanager.register(early, "lambda_container.early")
    if settings.target == "container" and config.pluginmanager.hasplugin("xdist") and distributed:
        from . import parallel

        if hasattr(config, "workerinput"):
            config.pluginmanager.register(parallel.Worker(), "lambda_container.xdist_worker")
        else:
            config.pluginmanager.register(parallel.BuildBeforeWorkers(settings, terminal_log), "lambda_container.xdist")
            config.pluginmanager.register(parallel.Controller(config), "lambda_container.xdist_scheduling")


def _make_target(config: pytest.Config, settings: Settings) -> Target:
    """The run's target; on `container`, its session opened on first use, its progress on pytest's terminal."""

    def open_session() -> LambdaSession:
        from .engine import sdk

        sdk.load()  # before anything imports docker: without its SSH transport where no ssh:// engine can be meant
        from .container.session import LambdaSession
        from .parallel import takes_of

        return LambdaSession(
            settings,
            log=terminal_log(config),
            warn=_warn,
            # get_verbosity() is pytest 8 (the floor is 7.4); and the parsed options may not be there yet (forecast)
            stream_build_output=getattr(config.known_args_namespace, "verbose", 0) > 0,
            handoff=takes_of(config),  # under xdist, in a worker: the controller's containers to take
        )

    terminal_log(config)  # its hooks keep pytest's progress whole from the first test on
    return make_target(settings, open_session)


def _under_xdist(config: pytest.Config) -> bool:
    """Whether pytest-xdist runs this session's tests in workers (this one is one, or their controller)."""
    return hasattr(config, "workerinput") or bool(getattr(config.option, "numprocesses", None))


def lambda_settings_of(config: pytest.Config) -> Settings:
    """The run's resolved settings, for hooks that run before any fixture (e.g. `pytest_generate_tests`)."""
    return config.stash[SETTINGS]


def pytest_unconfigure(config: pytest.Config) -> None:
    skipping.uninstall(config)
    # The target fixture's finalizer normally did this; this covers internal errors that skip teardown.
    if config.stash.get(_COUNTED, False):  # not where another plugin's configure failed before this one's
        _CONFIGURED[0] -= 1
    target = config.stash.get(TARGET, None)
    if target is not None:
        target.close()
    if isinstance(target, ContainerTarget) and target.opened_session is not None and _CONFIGURED[0] > 0:
        from .engine import hygiene

        # A run within another (pytester): its containers are gone when it returns, all of them (also any the
        # session no longer lists), while the engine it reached still answers. The outermost run leaves its
        # removals to finish as the process exits (engine/removals.py).
        hygiene.settle()
        hygiene.remove_session(target.opened_session.id)


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(TARGET, None)
    return target.header() if target is not None else []


def _warn(line: str) -> None:
    """A `LambdaContainerWarning` located at the user's call (a factory call in a fixture or a test)."""
    frame, level = inspect.currentframe(), 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(__package__ or "-"):
        frame, level = frame.f_back, level + 1
    warnings.warn(line, LambdaContainerWarning, stacklevel=level)


@pytest.fixture(scope="session")
def lambda_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings (CLI over ini over default)."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def lambda_target(request: pytest.FixtureRequest) -> Generator[Target, None, None]:
    """The run's target (`--lambda-target`): makes the function under test and the clients that reach it."""
    target = request.config.stash[TARGET]
    with sigterm_ends_like_ctrl_c():
        try:
            yield target
        finally:
            # The removals finish while pytest reports (the process exits once the engine has them); after Ctrl-C
            # (or SIGTERM), before pytest says it was interrupted.
            target.close(wait=request.session.exitstatus == pytest.ExitCode.INTERRUPTED)


@pytest.fixture(scope="session")
def lambda_session(lambda_target: Target) -> LambdaSession:
    """The session's engine, images and containers (the container target only); removed at the end."""
    with surfaced(lambda_target.settings):
        return lambda_target.session()


@pytest.fixture(scope="session")
def lambda_image(lambda_session: LambdaSession) -> ImageInfo:
    """The function's image: `--lambda-image` as it is, or the Dockerfile built (once, with progress)."""
    with surfaced(lambda_session.settings):
        return lambda_session.image()


@pytest.fixture(scope="session")
def lambda_container(lambda_target: Target) -> Any:
    """The function under test, on the run's target: on `container` its `LambdaContainer` (`.url`, `.port`,
    `.invoke_event(event)`, `.logs()`); on `inprocess` and `function` an object with `.invoke_event(event)`; on `url`
    the `Endpoint` (`.url`). Override it (e.g. with `lambda_container_factory`) to choose the function that `invoke`
    and `lambda_client` reach; what a target cannot do (`.logs()` in-process, raw events over HTTP) skips the test."""
    with surfaced(lambda_target.settings):
        return lambda_target.function()


@pytest.fixture(scope="session")
def lambda_container_factory(lambda_target: Target) -> Callable[..., Any]:
    """`factory(image=, dockerfile=, context=, handler=, env=, timeout=, build_args=)` (a `FunctionSpec`'s fields;
    paths relative to the rootdir): the function of those fields on the run's target, made once and shared.

    With `--lambda-image`, a call naming no build, or the configured Dockerfile, runs that image; one naming another
    Dockerfile (or build args) builds it as another function's, with a `LambdaContainerWarning`. In-process, the
    handler is imported; on `url` and `function` only the configured (deployed) function can be reached: a test
    asking for another is skipped with the reason.
    """
    root = lambda_target.settings.rootdir

    def factory(**fields: Any) -> Any:
        # Called from a test body: errors propagate as they are, so a test can `pytest.raises` them.
        return lambda_target.function(FunctionSpec.of(root, **fields))

    return factory


@pytest.fixture(scope="session")
def lambda_client(
    pytestconfig: pytest.Config, lambda_target: Target, lambda_container: Any
) -> Generator[httpx.Client, None, None]:
    """An `httpx.Client` that reaches the function the way the run's target does: each request an API Gateway event
    (or, on `url`, real HTTP to the deployed endpoint), at the front's own HTTPS address and stage.

    Shared by the session, but every test starts with an empty cookie jar: no test sees another's cookies.
    """
    with surfaced(lambda_target.settings):
        client = lambda_target.client(lambda_container)
    with client:
        clients = pytestconfig.stash.setdefault(CLIENTS, [])
        clients.append(client)
        try:
            yield client
        finally:
            clients.remove(client)


@pytest.fixture(scope="session")
def invoke(lambda_client: httpx.Client) -> InvokeFunction:
    """`invoke(method, path, query=None, *, headers=None, json=None, body=None, event_format=None,
    raise_function_errors=None, **event_options)` → `httpx.Response`."""
    from .fronts.transport import make_invoke

    return make_invoke(lambda_client)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        unknown = sorted(set(marker.args) - set(TARGETS))
        if unknown or not marker.args:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{MARKER}{marker.args!r} names no target or unknown ones "
                f"({', '.join(unknown)}); the targets are {', '.join(TARGETS)}"
            )
        target = item.config.stash[SETTINGS].target
        if target not in marker.args:
            pytest.skip(f"runs on the {', '.join(marker.args)} target(s); this run's target is {target}")
    for client in item.config.stash.get(CLIENTS, []):
        client.cookies.clear()
