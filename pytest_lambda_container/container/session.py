"""A test session's Lambda resources: engine, images, emulator, containers — made once, shared, removed at the end.

Usable without pytest::

    with LambdaSession(Settings(rootdir=Path("."))) as session:
        container = session.container()
        print(container.invoke_event({"ping": 1}))
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..build.image import ImageInfo
from ..config.function import FunctionSpec, ResolvedFunction
from ..config.settings import Settings
from ..engine import hygiene
from ..engine.client import Engine, connect
from ..errors import LambdaContainerError
from . import delivery, launch, watch_inside
from . import emulator as rie
from .function import LambdaContainer
from .instruments import Instruments
from .pool import FunctionPool, end_all
from .session_end import HandOff, SessionEnd
from .session_images import SessionImages

if TYPE_CHECKING:
    from . import reuse

Log = Callable[[str], None]


class LambdaSession(SessionEnd):
    """Builds or finds images and starts containers on demand, each once; `close()` removes what it started.

    `log` gets progress lines; `warn` what must not pass unseen (default: `warnings.warn`); `stream_build_output`
    sends the build's own output to `log` too (pytest -v).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        log: Log | None = None,
        warn: Log | None = None,
        stream_build_output: bool = False,
        handoff: HandOff | None = None,
    ) -> None:
        self.settings = settings
        self.stream_build_output = stream_build_output
        self.id = hygiene.new_session_id()
        self.log: Log = log or (lambda _line: None)
        self.warn: Log = warn or (lambda line: warnings.warn(f"pytest-lambda-container: {line}", stacklevel=3))
        self._engine: Engine | None = None
        self._sweeping: threading.Thread | None = None
        self._engine_error: LambdaContainerError | None = None
        self._containers: dict[ResolvedFunction, LambdaContainer | FunctionPool] = {}
        #: Plans made ahead of their container (`prepare`), each taken by the container's start.
        self._prepared: dict[ResolvedFunction, launch.LaunchPlan] = {}
        self._lock = threading.RLock()
        self._claims: dict[int, reuse.Claim] = {}
        self._images = SessionImages(settings, self.engine, self._lock, self.log, self.warn, stream_build_output)
        #: Coverage and a debugger in the containers, when asked for.
        self.instruments = Instruments.of(settings, self.log)
        #: Under xdist, in a worker: the containers the controller started for the workers to take.
        self.handoff = handoff

    def __enter__(self) -> LambdaSession:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def engine(self) -> Engine:
        """The Docker engine, connected on first use; orphans of killed sessions are removed then."""
        with self._lock:
            if self._engine_error is not None:
                # Within a session, an engine that did not answer is not asked again by every test.
                raise self._engine_error.with_traceback(None)
            if self._engine is None:
                try:
                    self._engine = connect()
                except LambdaContainerError as exc:
                    self._engine_error = exc
                    raise
                if not self._engine.reach.same_host:  # on the engine's host, the header said it all
                    self.log(self._engine.reach.describe())
                if self.settings.reuse:  # before any container is adopted: the sweep removes outdated ones
                    self._sweep(self._engine)
                elif self.handoff is None:  # an xdist worker's controller swept as it started ahead, and at its end
                    # Off the first container's critical path (issue 17: a look at every container of ours on the
                    # engine, ~0.1 s); `close` waits for it, so a session still ends with the sweep done.
                    self._sweeping = threading.Thread(
                        target=self._sweep, args=(self._engine,), name="lambda-container-sweep", daemon=True
                    )
                    self._sweeping.start()
            return self._engine

    def _sweep(self, engine: Engine) -> None:
        """Remove what killed runs left behind (`hygiene.reap_orphans`), saying so; and a killed xdist controller's
        run folder (`handoff_files`), whatever this run is."""
        for name in hygiene.reap_orphans(engine):
            self.log(f"removed container {name}, left behind by a pytest run that no longer exists")
        from . import handoff_files  # here: a run that starts no container imports none of it

        handoff_files.sweep_folders()

    def image(self, spec: FunctionSpec | ResolvedFunction | None = None) -> ImageInfo:
        """The image of `spec` (default: the configured one), built at most once per session.

        With an image given (`--lambda-image`), the default function runs it and builds nothing; a spec naming any
        other build is another function's and is built, but never silently: `warn` names `--lambda-image`.
        """
        spec = spec or FunctionSpec()
        return self._images.of(spec.resolve(self.settings) if isinstance(spec, FunctionSpec) else spec)

    @property
    def builds(self) -> int:
        """How many images this session built (not found already built)."""
        return self._images.builds

    def container(
        self, spec: FunctionSpec | None = None, *, ahead: bool = False, **fields: Any
    ) -> LambdaContainer | FunctionPool:
        """A running container of that function (a `FunctionSpec`, or its fields as keyword arguments), started
        once per distinct function; paths in keyword arguments are relative to the rootdir. With `concurrency` over 1,
        a `FunctionPool` of up to that many containers, with the same contract. `ahead`: started before any test
        asks for it (while pytest collects): under xdist, not counted as used (`HandOff.used`) until one does."""
        fn = (spec or FunctionSpec.of(self.settings.rootdir, **fields)).resolve(self.settings)
        with self._lock:
            if self.handoff is not None and not ahead:
                self.handoff.used(fn)
            existing = self._containers.get(fn)
            if existing is not None:
                # Revived in place: clients built on it (lambda_client, invoke) stay valid.
                existing.ensure_running()
                return existing
            # Under xdist, one the controller started while this worker booted (parallel.py), if it has.
            container = self.handoff.take(fn, self.engine, self.log) if self.handoff is not None else None
            prepared = self._prepared.pop(fn, None)
            plan = container.plan if container is not None else prepared or self.plan(fn)
            if container is None:
                # The first container gets the configured port; the others any free one.
                port = self.settings.port if not self._containers else 0
                container = self._start(self.engine(), plan, fn, port=port, member=0)
            function: LambdaContainer | FunctionPool = container
            if self.settings.concurrency > 1:
                members, engine = itertools.count(1), self.engine()
                more = lambda: self._start(engine, plan, fn, port=0, member=next(members))  # noqa: E731
                function = FunctionPool(container, self.settings.concurrency, more)
            self._containers[fn] = function
            return function

    def prepare(self, spec: FunctionSpec | None = None) -> None:
        """Make ready what starting that function's container needs (the engine, the image, the emulator's delivery:
        imports and engine round trips), so that `container` then goes straight to the engine's create."""
        fn = (spec or FunctionSpec()).resolve(self.settings)
        with self._lock:
            if self.handoff is not None:  # under xdist the controller may have started it: its plan comes with it
                self.image(fn)
            elif fn not in self._containers and fn not in self._prepared:
                self._prepared[fn] = self.plan(fn)

    def drop(self, spec: FunctionSpec | None = None) -> None:
        """Remove that function's containers now: started ahead (`prepare`, `container(ahead=True)`), then needed by
        no test. The session goes on: a later call of `container` starts it anew."""
        fn = (spec or FunctionSpec()).resolve(self.settings)
        with self._lock:
            function, _ = self._containers.pop(fn, None), self._prepared.pop(fn, None)
        if function is not None:
            end_all([function], self._end)

    def plan(self, fn: ResolvedFunction) -> launch.LaunchPlan:
        """How this session starts containers of `fn`: its image found or built, the emulator delivered."""
        with self._lock:
            info = self.image(fn)
            engine = self.engine()
            plan = launch.plan(
                info,
                labels=hygiene.labels(self.id, keep=self.settings.keep, parent=engine.reach.parent),
                emulator_volume=None if info.runs_emulator else self.emulator_volume(info),
                handler=fn.handler,
                environment=fn.environment(),
                timeout=fn.timeout,
                engine_options=engine.run_options(),
                sandbox=self.settings.limits,
                reach=engine.reach,
            )
            if self.instruments is not None:
                plan = self.instruments.apply(plan, info, fn, engine)
            plan = watch_inside.apply(plan, engine)
            return plan

    def emulator_volume(self, info: ImageInfo) -> str:
        """The volume that holds the emulator for `info`'s architecture, filled once per engine (the image under
        test serves as the helper: the engine has it, and nothing need be pulled)."""
        found = rie.locate(info.rie_arch, self.settings.rie, log=self.log)
        return delivery.deliver(self.engine(), rie.bundle(found), helper_image=info.id)

    def _start(
        self, engine: Engine, plan: launch.LaunchPlan, fn: ResolvedFunction, *, port: int, member: int
    ) -> LambdaContainer:
        """A new container of `plan`; with `reuse`, the one an earlier run left for it, or one left for the next."""
        if not self.settings.reuse:
            return LambdaContainer.start(engine, plan, port=port, log=self.log)
        from . import reuse  # here: only --lambda-reuse holds slots across runs (filelock)

        container, held = reuse.start(
            engine, plan, fn, rootdir=self.settings.rootdir, member=member, port=port, log=self.log
        )
        if held is not None:
            with self._lock:
                self._claims[id(container)] = held
        return container
