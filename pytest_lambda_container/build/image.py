"""The function's image: built from a Dockerfile (with progress, cached by content) or taken as it is.

A build here is: read the Dockerfile (`dockerfile`), refuse at once what needs BuildKit where there is none
(`builder`), tag by what the build uses (`content`), build under a lock shared by every worker (`buildlock`)
with the builder that can (`builder`, its output through `buildlog`), check the architecture asked for, and
prune the build's older images (`prune`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import ImageNotFound

from ..engine.client import Engine
from ..errors import BuildFailed, ConfigError, EngineRefused, LambdaContainerError
from . import builder, platforms, prune
from . import dockerfile as dockerfiles
from . import lock as buildlock
from .content import REPOSITORY, content_tag, large_context_warning
from .image_config import ImageConfig
from .inputs import check_build_inputs
from .progress import BuildOutput, BuildProgress, ProgressCallback

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


def _base_image(
    engine: Engine, ref: str, platform: str | None, report: ProgressCallback, *, pull: bool = True
) -> BaseImage:
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


def _tag(
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
    return _tag(
        dockerfile,
        context,
        build_args,
        platform,
        [_base_image(engine, r, platform, _unheard, pull=False) for r in reading.base_images],
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
    # Podman's builder (buildah) has BuildKit's features itself; Docker's, behind the SDK, does not.
    needs_buildkit = builder.buildkit_features(reading, dockerfile) if not engine.is_podman else []
    if needs_buildkit and not builder.buildx_available():
        raise builder.buildkit_needed(dockerfile, needs_buildkit)
    bases = [_base_image(engine, ref, platform, report) for ref in reading.base_images]
    onbuild = any(base.onbuild for base in bases)
    tag = _tag(dockerfile, context, build_args, platform, bases)
    request = builder.BuildRequest(
        dockerfile=dockerfile,
        context=context,
        tag=tag,
        labels=prune.build_labels(dockerfile, context, build_args, platform),
        build_args=build_args,
        network_mode=network_mode,
        platform=platform,
        engine_environment=engine.endpoint.cli_environment() if engine.endpoint else {},
    )
    with buildlock.held(tag, report):
        if exists(engine, tag):
            report(BuildProgress(None, None, f"{tag} is up to date with {dockerfile}"))
            info = inspect(engine, tag, built=False)
        else:
            warning = large_context_warning(dockerfile, context, None if onbuild else reading.sources)
            if warning is not None and not needs_buildkit:  # BuildKit sends only what the build asks for
                report(BuildProgress(None, None, warning))
            info = _run(engine, request, report, buildx=bool(needs_buildkit), stream_output=stream_output)
        check_platform(engine, info, platform, dockerfile, bases)
    if info.built:
        # After a build only, when a newer image appears: a run that finds its image built leaves the older ones as
        # the build left them (issue 17: the engine's listing of images is ~1 s of such a run where it holds many).
        prune.prune(engine, request.labels, info.id, report)
    return info


def _run(
    engine: Engine, request: builder.BuildRequest, report: ProgressCallback, *, buildx: bool, stream_output: bool
) -> ImageInfo:
    started = time.monotonic()
    how = "docker buildx build" if buildx else "the engine's builder"
    report(BuildProgress(None, None, f"building {request.dockerfile} as {request.tag} with {how}"))
    parse = builder.buildkit_step if buildx else builder.legacy_step
    with BuildOutput(report, parse, stream_output=stream_output) as output:
        result = (
            builder.build_with_buildx(request, output) if buildx else builder.build_with_sdk(engine, request, output)
        )
    if result.error is not None:
        if result.last_layer:
            prune.mark_failed_build(engine, result.last_layer, request.tag)
        raise output.failure(request.dockerfile, request.context, result.error, network_mode=request.network_mode)
    report(BuildProgress(None, None, f"built {request.tag} in {time.monotonic() - started:.1f}s"))
    info = inspect(engine, request.tag, built=True)
    prune.remember_built(info.id)
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
