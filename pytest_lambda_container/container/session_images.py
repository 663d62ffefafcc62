"""A session's images: each function's found or built at most once, and refused if the engine's host cannot run it.
Held by `LambdaSession` (session.py)."""

from __future__ import annotations

import platform as host_platform
import threading
from collections.abc import Callable
from pathlib import Path

from ..build import image as images
from ..build import platforms
from ..build.image import BuildProgress, ImageInfo, check_build_inputs
from ..config.function import ResolvedFunction
from ..config.settings import Settings
from ..engine.client import Engine
from ..errors import BuildFailed, ConfigError, LambdaContainerError

Log = Callable[[str], None]


class SessionImages:
    """The images a session found or built, by what they were made of; `builds` counts those it built."""

    def __init__(
        self,
        settings: Settings,
        engine: Callable[[], Engine],
        lock: threading.RLock,
        log: Log,
        warn: Log,
        stream_build_output: bool,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.log = log
        self.warn = warn
        self.stream_build_output = stream_build_output
        self._lock = lock
        self._images: dict[tuple[object, ...], ImageInfo] = {}
        # A build that failed fails the same way again within a session: it is not retried for every test.
        self._failed: dict[tuple[object, ...], LambdaContainerError] = {}
        self.builds = 0

    def _progress(self, event: BuildProgress) -> None:
        self.log(f"build step {event.step}/{event.total}: {event.text}" if event.step is not None else event.text)

    def of(self, fn: ResolvedFunction) -> ImageInfo:
        """The image of `fn`, found or built on first use."""
        build_args = dict(fn.build_args)
        key = (fn.image,) if fn.image else (fn.dockerfile, fn.context, fn.build_args)
        with self._lock:
            if key in self._failed:
                raise self._failed[key].with_traceback(None)
            if key not in self._images:
                try:
                    self._images[key] = self._find_or_build(fn.image, fn.dockerfile, fn.context, build_args)
                except (BuildFailed, ConfigError) as exc:
                    self._failed[key] = exc
                    raise
            return self._images[key]

    def _find_or_build(self, ref: str | None, dockerfile: Path, context: Path, build_args: dict[str, str]) -> ImageInfo:
        s = self.settings
        if not ref:
            # Before touching Docker: a missing Dockerfile is the user's first mistake, not the engine.
            check_build_inputs(dockerfile, context)
            if s.image:
                self._announce_build_despite_image(dockerfile)
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
                stream_output=self.stream_build_output,
            )
            self.builds += info.built
        check_architecture(info, engine)
        return info

    def _announce_build_despite_image(self, dockerfile: Path) -> None:
        line = (
            f"--lambda-image {self.settings.image} is the image under test, but a factory call builds {dockerfile}: "
            f"not the configured Dockerfile ({self.settings.dockerfile_path}), so it is taken for another function "
            "and built from the working tree. If it is another build of the function under test, build nothing "
            "when an image is given (see the README's both-images pattern)."
        )
        self.log(line)
        self.warn(line)


def check_architecture(info: ImageInfo, engine: Engine) -> None:
    """Refuse an image the engine's host cannot run: no emulation (binfmt) for its architecture."""
    arch = platforms.find(info.architecture)
    if arch is None or arch.docker == engine.arch:
        return
    qemu = f"qemu-{arch.kernel}"
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    local = engine.address.startswith("unix://") and host_platform.system() == "Linux"
    if local and binfmt.is_dir() and not (binfmt / qemu).exists():
        raise ConfigError(
            f"image {info.ref} is linux/{arch.docker}, but the engine runs linux/{engine.arch} and this host "
            f"has no emulation for {arch.docker} ({binfmt / qemu} is missing). Build for this host with "
            f"--lambda-platform linux/{engine.arch} (ini lambda_platform), or install emulation "
            "(e.g. `apt-get install qemu-user-static binfmt-support`)."
        )
