"""A build that runs (`image.build` found no image of its tag): refuse at once what needs BuildKit where there is
none (`builder`), build under a lock shared by every worker (`buildlock`) with the builder that can (`builder`, its
output through `progress`), check the architecture asked for, and prune the build's older images (`prune`).

Imported by a build only: a run that finds its image built, or is given one, loads none of this (issue 17).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..engine.client import Engine
from . import builder, prune
from . import lock as buildlock
from .content import large_context_warning
from .dockerfile import Reading
from .image import ImageInfo, check_platform, exists, find_base, inspect, tag_for
from .progress import BuildOutput, BuildProgress, ProgressCallback


def build(
    engine: Engine,
    dockerfile: Path,
    context: Path,
    reading: Reading,
    build_args: dict[str, str],
    report: ProgressCallback,
    *,
    network_mode: str | None,
    platform: str | None,
    stream_output: bool,
) -> ImageInfo:
    """Build `dockerfile` (read: `reading`) in `context`, unless another worker's build of it is done meanwhile."""
    # Podman's builder (buildah) has BuildKit's features itself; Docker's, behind the SDK, does not.
    needs_buildkit = builder.buildkit_features(reading, dockerfile) if not engine.is_podman else []
    if needs_buildkit and not builder.buildx_available():
        raise builder.buildkit_needed(dockerfile, needs_buildkit)
    bases = [find_base(engine, ref, platform, report) for ref in reading.base_images]
    onbuild = any(base.onbuild for base in bases)
    tag = tag_for(dockerfile, context, build_args, platform, bases)
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
