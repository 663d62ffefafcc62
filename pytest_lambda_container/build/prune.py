"""Old images of the same build, removed as new ones come: our images are labelled with what build made them.

"The same build" is what the labels say — the context's and the Dockerfile's paths, a hash of the build args,
the platform — never a guess from the folder name: two projects can share one, and one context can have
several Dockerfiles or argument variants. Of one build the newest few stay; an image any container uses
(running, stopped, or kept with --lambda-keep) stays, and so does one another process built a moment ago.

A failed legacy build leaves its last layer behind, untagged, without labels (the builder labels only the
image's last step). `mark_failed_build` gives that layer a labelled child, so our README's
`docker image prune --filter label=pytest-lambda-container` removes it with the layers under it; until then
it is the cache of the next attempt.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..engine import hygiene
from ..engine.client import Engine
from ..engine.hygiene import LABEL
from ..errors import LambdaContainerError
from .content import REPOSITORY
from .progress import BuildProgress, ProgressCallback

LABEL_BUILD = f"{LABEL}.build"
LABEL_CONTEXT = f"{LABEL}.context"
LABEL_DOCKERFILE = f"{LABEL}.dockerfile"
LABEL_BUILD_ARGS = f"{LABEL}.build-args"
LABEL_PLATFORM = f"{LABEL}.platform"
#: On the marker of a failed build's last layer.
LABEL_FAILED = f"{LABEL}.failed-build"
#: Images of one build kept: the one in use now and the newest others.
KEEP = 3
#: An image another process built this recently may be about to start: left alone.
RECENT = 300.0

_built_here: set[str] = set()
_built_here_lock = threading.Lock()


def build_labels(
    dockerfile: Path, context: Path, build_args: Mapping[str, str], platform: str | None
) -> dict[str, str]:
    """The labels of an image we build: ours, and which build it is (build arg values hashed: they may be secret)."""
    args = hashlib.sha256(repr(sorted(build_args.items())).encode()).hexdigest()[:16]
    identity = {
        LABEL_CONTEXT: str(context.resolve()),
        LABEL_DOCKERFILE: str(dockerfile.resolve()),
        LABEL_BUILD_ARGS: args,
        LABEL_PLATFORM: platform or "",
    }
    key = hashlib.sha256(repr(sorted(identity.items())).encode()).hexdigest()[:16]
    return {LABEL: "1", LABEL_BUILD: key, **identity}


def remember_built(image_id: str) -> None:
    """Note an image this process built: its age does not protect it from this process's own pruning."""
    with _built_here_lock:
        _built_here.add(image_id)


@dataclass(frozen=True)
class Candidate:
    """One image of a build, as the engine lists it."""

    id: str
    tags: tuple[str, ...]  # ours only: a tag the user gave it is never touched
    created: float
    dangling: bool = False


def select(
    images: Sequence[Candidate],
    *,
    current: str,
    in_use: set[str],
    built_here: set[str],
    now: float,
    keep: int = KEEP,
    recent: float = RECENT,
) -> list[Candidate]:
    """The images of one build to remove: all but `current` and the newest others up to `keep` in all, sparing
    those a container uses and those another process built less than `recent` seconds ago."""
    others = sorted((i for i in images if i.id != current), key=lambda i: i.created, reverse=True)
    old = others[max(0, keep - 1) :]
    return [
        i
        for i in old
        if (i.tags or i.dangling) and i.id not in in_use and (i.id in built_here or now - i.created >= recent)
    ]


def prune(engine: Engine, labels: Mapping[str, str], current: str, report: ProgressCallback) -> list[str]:
    """Remove old images of the build `labels` names, keeping `current`; the tags removed. Best effort: an
    engine that refuses (a container started from one meanwhile) leaves that image be."""
    try:
        with engine.errors("the listing of our images"):
            listed = engine.client.api.images(filters={"label": [LABEL, f"{LABEL_BUILD}={labels[LABEL_BUILD]}"]})
        if len(listed) <= KEEP:
            return []
        images = [
            Candidate(
                id=str(image["Id"]),
                tags=tuple(t for t in image.get("RepoTags") or () if t.startswith(REPOSITORY + "/")),
                created=_created(engine, str(image["Id"]), float(image.get("Created") or 0)),
                dangling=not [t for t in image.get("RepoTags") or () if t != "<none>:<none>"],
            )
            for image in listed
        ]
        with engine.errors("the listing of containers"):
            in_use = {str(c.get("ImageID")) for c in engine.client.api.containers(all=True)}
    except LambdaContainerError:
        return []
    with _built_here_lock:
        built_here = set(_built_here)
    removed: list[str] = []
    for image in select(images, current=current, in_use=in_use, built_here=built_here, now=time.time()):
        # By tag: an image the user tagged too keeps that tag, and stays. An untagged one, by id.
        for tag in image.tags or (image.id,):
            try:
                with engine.errors(f"the removal of image {tag}"):
                    engine.client.api.remove_image(tag)
            except LambdaContainerError:
                continue
            removed.append(tag)
    if removed:
        report(BuildProgress(None, None, f"removed {len(removed)} older image(s) of this build: {', '.join(removed)}"))
    return removed


def _created(engine: Engine, image_id: str, whole_seconds: float) -> float:
    """When the image was made, to the sub-second: the listing's whole seconds tie for builds of one second, and
    a tie must not decide which image is the newest."""
    with engine.errors(f"an inspection of image {image_id}"):
        stamp = str(engine.client.images.get(image_id).attrs.get("Created") or "")
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", stamp)
    if match is None:
        return whole_seconds
    seconds = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return seconds + float(f"0.{match[2] or 0}")


def mark_failed_build(engine: Engine, layer: str, tag: str) -> None:
    """Label what a failed legacy build left (`layer`, its last layer) through a labelled child of it, which
    `docker image prune --filter label=pytest-lambda-container` removes together with the layers under it."""
    labels = hygiene.labels(hygiene.new_session_id())
    container_id = ""
    try:
        with engine.errors(f"the marking of layer {layer} of a failed build"):
            if engine.client.images.get(layer).tags:
                return  # a tagged image (the base itself): the build left nothing of its own
            markers = engine.client.api.images(all=True, filters={"label": LABEL_FAILED})
            if any(str(m.get("ParentId", "")).removeprefix("sha256:").startswith(layer) for m in markers):
                return  # marked by an earlier failure
            # Created, never started: a commit needs a container. Its command never matches a Dockerfile step,
            # so the builder never takes the marker for a cached step.
            container_id = engine.client.api.create_container(
                layer, command=["#(nop) pytest-lambda-container: a failed build's last layer"], labels=labels
            )["Id"]
            engine.client.api.commit(container_id, changes=[f"LABEL {LABEL}=1 {LABEL_FAILED}={tag}"])
    except LambdaContainerError:
        return  # best effort: the build's own failure is what the user needs to hear about
    finally:
        if container_id:
            try:
                with engine.errors(f"the removal of container {container_id[:12]}"):
                    engine.client.api.remove_container(container_id, force=True)
            except LambdaContainerError:
                pass
