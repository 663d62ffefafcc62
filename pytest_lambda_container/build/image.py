"""The function's image: built from a Dockerfile (with progress, cached by content) or taken as it is.

A build here is: read the Dockerfile (`dockerfile`), tag by what the build uses (`content`), and take the image of
that tag where the engine has it; else build it (`building`: the BuildKit check, the lock across workers, the
builders, the prune), and check the architecture asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import ImageNotFound

from ..engine.client import Engine
from ..errors import BuildFailed, ConfigError, EngineRefused, LambdaContainerError
from . import dockerfile as dockerfiles
from . import platforms
from .content import REPOSITORY, content_tag
from .image_config import ImageConfig
from .inputs import check_build_inputs
from .progress import BuildProgress, ProgressCallback

__all__ = [
    "REPOSITORY",
    "BuildProgress",
    "ImageInfo",
    "ProgressCallback",
    "base_images",
    "build",
    "check_build_inputs",
    "content_tag",
    "current_tag",
    "exists",
    "inspect",
    "redact_build_args",
]

_SECRET = re.compile(r"(?i)(secret|token|password|passwd|credential|private|api_?key|access_?key)")


@dataclass(frozen=True)
class ImageInfo:
    """An image as the engine has it: its id, the reference it was asked by, what it runs (`config`), and its
    architecture; `built` when this session built it."""

    id: str
    ref: str
    config: ImageConfig = field(default_factory=ImageConfig)
    architecture: str = "amd64"
    built: bool = False

    @property
    def entrypoint(self) -> tuple[str, ...]:
        """The image's ENTRYPOINT (documented on the `lambda_image` fixture)."""
        return self.config.entrypoint

    @property
    def cmd(self) -> tuple[str, ...]:
        """The image's CMD (documented on the `lambda_image` fixture)."""
        return self.config.cmd

    @property
    def runs_emulator(self) -> bool:
        """True for AWS base images, whose entrypoint starts aws-lambda-rie itself."""
        return self.config.runs_emulator

    @property
    def rie_arch(self) -> str:
        """The aws-lambda-rie build this image needs: `x86_64` or `arm64`."""
        return platforms.rie_arch(self.architecture)


def inspect(engine: Engine, ref: str, *, built: bool = False) -> ImageInfo:
    """Read an image's config; `ConfigError` when there is no such image."""
    try:
        with engine.errors(f"an inspection of image {ref}"):
            try:
                image = engine.client.images.get(ref)
            except ImageNotFound:
                raise ConfigError(
                    f"image {ref!r} does not exist in the Docker engine at {engine.address}; build and tag it first "
                    f"(`docker build -t {ref} .`), or drop --lambda-image to let the plugin build the Dockerfile"
                ) from None
    except EngineRefused as exc:
        if exc.status_code is None or not 400 <= exc.status_code < 500:
            raise
        # A 4xx other than "not found" is the reference itself ("repository name must be lowercase"...).
        raise ConfigError(f"{ref!r} is not a valid image reference: {exc.reason}") from None
    attrs: dict[str, Any] = image.attrs
    return ImageInfo(
        id=image.id or "",
        ref=ref,
        config=ImageConfig.from_engine(attrs.get("Config")),
        architecture=attrs.get("Architecture") or "amd64",
        built=built,
    )


def exists(engine: Engine, ref: str) -> bool:
    """True when the engine has an image called `ref`."""
    with engine.errors(f"an inspection of image {ref}"):
        try:
            engine.client.images.get(ref)
        except ImageNotFound:
            return False
    return True


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile builds FROM, with `${ARG}`s filled from the build args and ARG defaults."""
    return list(dockerfiles.read(dockerfile_text, build_args).base_images)


@dataclass(frozen=True)
class BaseImage:
    """A base image as the engine has it: its id (the ref itself when it is not local), architecture, and
    whether it carries ONBUILD triggers (which run in our build and may copy anything)."""

    ref: str
    id: str
    architecture: str = ""
    onbuild: bool = False


def find_base(
    engine: Engine, ref: str, platform: str | None, report: ProgressCallback, *, pull: bool = True
) -> BaseImage:
    """The base image `ref` as the engine has it, pulled first where it has not (unless `pull` is False)."""
    with engine.errors(f"an inspection of image {ref}"):
        try:
            attrs: dict[str, Any] = engine.client.images.get(ref).attrs
        except ImageNotFound:
            attrs = {}
    if not attrs and not pull:
        return BaseImage(ref, ref)
    if not attrs:
        # Pulled now, as the build would: tagged by the name of a base it does not have yet, the image would get
        # another tag (the base's id) on the next run, and be built again.
        report(BuildProgress(None, None, f"pulling base image {ref}"))
        try:
            with engine.errors(f"the pull of image {ref}"):
                attrs = engine.client.images.pull(ref, platform=platform).attrs
        except LambdaContainerError:
            return BaseImage(ref, ref)  # the build says why it cannot get it
    config = attrs.get("Config") or {}
    return BaseImage(
        ref, str(attrs.get("Id") or ref), str(attrs.get("Architecture") or ""), bool(config.get("OnBuild"))
    )


def _unheard(_event: BuildProgress) -> None:
    pass


def tag_for(
    dockerfile: Path, context: Path, build_args: Mapping[str, str], platform: str | None, bases: Sequence[BaseImage]
) -> str:
    return content_tag(
        dockerfile, context, build_args, platform, tuple(b.id for b in bases), onbuild=any(b.onbuild for b in bases)
    )


def current_tag(
    engine: Engine, dockerfile: Path, context: Path, build_args: Mapping[str, str], platform: str | None
) -> str:
    """The tag a build of these inputs gets now, from the base images the engine has (nothing pulled): the image of
    this content, whichever checkout's path built it (its build labels name that path)."""
    reading = dockerfiles.read(dockerfile.read_text(errors="replace"), build_args)
    return tag_for(
        dockerfile,
        context,
        build_args,
        platform,
        [find_base(engine, r, platform, _unheard, pull=False) for r in reading.base_images],
    )


def redact_build_args(build_args: Mapping[str, str]) -> dict[str, str]:
    """Build args fit to print: values of secret-looking names hidden."""
    return {k: ("***" if _SECRET.search(k) else v) for k, v in build_args.items()}


def build(
    engine: Engine,
    dockerfile: Path,
    context: Path,
    *,
    build_args: Mapping[str, str] | None = None,
    network_mode: str | None = None,
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    stream_output: bool = False,
) -> ImageInfo:
    """Build `dockerfile` in `context`, or reuse the image already built from the same inputs.

    `progress` hears every line meant for the user (steps, a heartbeat while a step runs long, the build's
    own output with `stream_output`, waiting for another worker's build of the same image, pruning).
    """
    build_args = dict(build_args or {})
    report = progress or (lambda _event: None)
    check_build_inputs(dockerfile, context)
    reading = dockerfiles.read(dockerfile.read_text(errors="replace"), build_args)
    # Built already (a tag is only set on a finished build), from the base images the engine has: taken as it is.
    bases = [find_base(engine, ref, platform, report, pull=False) for ref in reading.base_images]
    tag = tag_for(dockerfile, context, build_args, platform, bases)
    if not exists(engine, tag):
        # Imported here: the builders, the lock across processes (filelock) and the prune are a build's alone
        # (issue 17: a run that finds its image built loads none of them).
        from . import building

        return building.build(
            engine,
            dockerfile,
            context,
            reading,
            build_args,
            report,
            network_mode=network_mode,
            platform=platform,
            stream_output=stream_output,
        )
    report(BuildProgress(None, None, f"{tag} is up to date with {dockerfile}"))
    info = inspect(engine, tag, built=False)
    check_platform(engine, info, platform, dockerfile, bases)
    return info


def check_platform(
    engine: Engine, info: ImageInfo, platform: str | None, dockerfile: Path, bases: Sequence[BaseImage] = ()
) -> None:
    """Refuse an image of another architecture than the platform asked for (a base image without that variant
    makes the legacy builder build for the base's own, silently). The wrong image is removed, so the next
    run does not take it for built."""
    if not platform:
        return
    parts = platform.split("/")
    wanted = platforms.docker_arch(parts[1] if len(parts) > 1 else parts[0])
    got = platforms.docker_arch(info.architecture)
    if wanted == got:
        return
    with engine.errors(f"the removal of image {info.ref}"):
        engine.client.api.remove_image(info.ref)
    culprits = [b.ref for b in bases if b.architecture and platforms.docker_arch(b.architecture) != wanted]
    because = (
        f": the base image {', '.join(culprits)} is linux/{got} on this engine, with no {wanted} variant"
        if culprits
        else ""
    )
    raise BuildFailed(
        f"building {dockerfile} for {platform} made a linux/{got} image, not linux/{wanted}{because}. "
        f"Get the {platform} variant of the base (`docker pull --platform {platform} IMAGE`), or build for this "
        f"machine: drop --lambda-platform (ini lambda_platform).",
        dockerfile=str(dockerfile),
    )
