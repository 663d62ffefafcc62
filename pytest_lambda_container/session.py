"""A test session's Lambda resources: engine, images, emulator, containers — made once, shared, removed at the end.

Usable without pytest::

    with LambdaSession(Settings(rootdir=Path("."))) as session:
        container = session.container()
        print(container.invoke_event({"ping": 1}))
"""

from __future__ import annotations

import contextlib
import platform as host_platform
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from docker.errors import APIError

from . import image as images
from . import rie
from .container import INVOKE_PATH, LambdaContainer, new_session_id, reap_orphans
from .engine import ENGINE_ERRORS, Engine, connect, engine_address, short_error
from .errors import ConfigError, ContainerError, EngineUnavailable
from .image import BuildProgress, ImageInfo
from .settings import Settings, check_build_inputs

Log = Callable[[str], None]


@dataclass(frozen=True)
class FunctionSpec:
    """Which function to run: an existing image or a Dockerfile, plus handler and environment."""

    image: str | None = None
    dockerfile: Path | None = None
    context: Path | None = None
    handler: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None
    build_args: tuple[tuple[str, str], ...] = ()


class LambdaSession:
    """Builds or finds images and starts containers on demand, each once; `close()` removes what it started."""

    def __init__(self, settings: Settings, *, log: Log | None = None) -> None:
        self.settings = settings
        self.id = new_session_id()
        self.log: Log = log or (lambda _line: None)
        self._engine: Engine | None = None
        self._images: dict[tuple[object, ...], ImageInfo] = {}
        self._containers: dict[FunctionSpec, LambdaContainer] = {}
        self._lock = threading.RLock()
        self.builds = 0

    def __enter__(self) -> LambdaSession:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    @property
    def containers(self) -> list[LambdaContainer]:
        """The containers started so far."""
        return list(self._containers.values())

    @contextlib.contextmanager
    def _engine_errors(self) -> Iterator[None]:
        """Engine failures mid-way (it stopped, the socket vanished) as one clear error, not docker's traceback."""
        address = self._engine.address if self._engine else engine_address()
        try:
            yield
        except APIError as exc:
            # The engine answered, and refused: not a missing engine (which --lambda-skip-no-docker would skip).
            raise ContainerError(f"the Docker engine at {address} refused: {short_error(exc)}") from None
        except ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"the Docker engine at {address} failed: {short_error(exc)}") from None

    def engine(self) -> Engine:
        """The Docker engine, connected on first use; orphans of killed sessions are removed then."""
        with self._lock:
            if self._engine is None:
                self._engine = connect()
                for name in reap_orphans(self._engine):
                    self.log(f"removed container {name}, left behind by a pytest run that no longer exists")
            return self._engine

    def _progress(self, event: BuildProgress) -> None:
        if event.step is not None:
            self.log(f"build step {event.step}/{event.total}: {event.text}")
        else:
            self.log(event.text)

    def image(self, spec: FunctionSpec | None = None) -> ImageInfo:
        """The image of `spec` (default: the configured one), built at most once per session."""
        spec = spec or FunctionSpec()
        s = self.settings
        ref = spec.image or (s.image if spec.dockerfile is None else None)
        dockerfile = spec.dockerfile or s.dockerfile_path
        context = spec.context or (dockerfile.parent if spec.dockerfile else s.context_path)
        build_args = {**s.build_args, **dict(spec.build_args)}
        key = (ref,) if ref else (dockerfile, context, tuple(sorted(build_args.items())))
        with self._lock, self._engine_errors():
            if key not in self._images:
                if not ref:
                    # Before touching Docker: a missing Dockerfile is the user's first mistake, not the engine.
                    check_build_inputs(replace(s, dockerfile=dockerfile, context=context))
                engine = self.engine()
                if ref:
                    info = images.inspect(engine, ref)
                else:
                    if build_args:
                        self.log(f"build args: {images.redact_build_args(build_args)}")
                    info = images.build(
                        engine,
                        dockerfile,
                        context,
                        build_args=build_args,
                        network_mode=s.build_network,
                        platform=s.platform,
                        progress=self._progress,
                    )
                    self.builds += info.built
                check_architecture(info, engine)
                self._images[key] = info
            return self._images[key]

    def container(
        self,
        *,
        image: str | None = None,
        dockerfile: Path | None = None,
        context: Path | None = None,
        handler: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        build_args: Mapping[str, str] | None = None,
    ) -> LambdaContainer:
        """A running container of that function, started once per distinct (image, build, handler, env, timeout)."""
        s = self.settings
        merged_env = {**s.env, **(env or {})}
        spec = FunctionSpec(
            image,
            dockerfile,
            context,
            handler or s.handler,
            tuple(sorted(merged_env.items())),
            timeout or s.timeout,
            tuple(sorted((build_args or {}).items())),
        )
        with self._lock, self._engine_errors():
            existing = self._containers.get(spec)
            if existing is not None:
                # Revived in place: clients built on it (lambda_client, invoke) stay valid.
                existing.ensure_running()
                return existing
            info = self.image(spec)
            rie_path = None
            if not info.runs_emulator:
                rie_path = rie.locate(info.rie_arch, s.rie, log=self.log)
            # The first container gets the configured port; the others any free one.
            port = s.port if not self._containers else 0
            container = LambdaContainer.start(
                self.engine(),
                info,
                rie_path=rie_path,
                port=port,
                env=merged_env,
                handler=spec.handler,
                timeout=spec.timeout or s.timeout,
                session_id=self.id,
                log=self.log,
                keep=s.keep,
            )
            self._containers[spec] = container
            return container

    def close(self) -> None:
        """Remove every container started (or, with `keep`, leave them running and say how to reach them)."""
        with self._lock:
            for container in self._containers.values():
                if self.settings.keep:
                    self.log(
                        f"keeping container {container.name} ({container.image.ref}) at {container.url}: invoke it "
                        f"with `curl -d '{{}}' {container.url}{INVOKE_PATH}`; "
                        f"remove it with `docker rm -f {container.name}`"
                    )
                    container.release()
                else:
                    container.remove()
            self._containers.clear()
            if self._engine is not None and not self.settings.keep:
                self._engine.close()
                self._engine = None


def check_architecture(info: ImageInfo, engine: Engine) -> None:
    """Refuse an image the engine's host cannot run: no emulation (binfmt) for its architecture."""
    if info.architecture == engine.arch or info.architecture not in {"amd64", "arm64"}:
        return
    qemu = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[info.architecture]
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    local = engine.address.startswith("unix://") and host_platform.system() == "Linux"
    if local and binfmt.is_dir() and not (binfmt / qemu).exists():
        raise ConfigError(
            f"image {info.ref} is linux/{info.architecture}, but the engine runs linux/{engine.arch} and this host "
            f"has no emulation for {info.architecture} ({binfmt / qemu} is missing). Build for this host with "
            f"--lambda-platform linux/{engine.arch} (ini lambda_platform), or install emulation "
            "(e.g. `apt-get install qemu-user-static binfmt-support`)."
        )
