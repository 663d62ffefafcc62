"""The function's image: built from a Dockerfile (with progress, cached by content) or taken as it is."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import ImageNotFound
from docker.utils.build import exclude_paths

from . import platforms
from .engine import Engine
from .errors import BuildFailed, ConfigError, EngineRefused
from .hygiene import LABEL

#: Repository our built images are tagged into, so they can be found again (`docker images
#: 'pytest-lambda-container/*'`), and pruned: `docker image prune -a --filter label=pytest-lambda-container`.
REPOSITORY = "pytest-lambda-container"
#: The AWS base images' entrypoint, which starts the emulator itself outside Lambda.
AWS_ENTRYPOINT = "/lambda-entrypoint.sh"

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_SECRET = re.compile(r"(?i)(secret|token|password|passwd|credential|private|api_?key|access_?key)")


@dataclass(frozen=True)
class ImageInfo:
    """What the plugin needs to know of an image to run it under the emulator."""

    id: str
    ref: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = ""
    architecture: str = "amd64"
    env: Mapping[str, str] = field(default_factory=dict)
    built: bool = False

    @property
    def runs_emulator(self) -> bool:
        """True for AWS base images, whose entrypoint starts aws-lambda-rie itself."""
        return bool(self.entrypoint) and os.path.basename(self.entrypoint[0]) == os.path.basename(AWS_ENTRYPOINT)

    @property
    def rie_arch(self) -> str:
        """The aws-lambda-rie build this image needs: `x86_64` or `arm64`."""
        return platforms.rie_arch(self.architecture)


@dataclass(frozen=True)
class BuildProgress:
    """One line of build progress: the step (when the builder says), and the text."""

    step: int | None
    total: int | None
    text: str


ProgressCallback = Callable[[BuildProgress], None]


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
    config = attrs.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return ImageInfo(
        id=image.id or "",
        ref=ref,
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        workdir=config.get("WorkingDir") or "",
        architecture=attrs.get("Architecture") or "amd64",
        env=env,
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


def check_build_inputs(dockerfile: Path, context: Path) -> None:
    """The Dockerfile and context must exist before anything talks to Docker."""
    if not dockerfile.is_file():
        raise ConfigError(
            f"no Dockerfile at {dockerfile}; point --lambda-dockerfile (ini lambda_dockerfile) at your "
            "function's Dockerfile, or test a built image with --lambda-image"
        )
    if not context.is_dir():
        raise ConfigError(f"build context {context} is not a directory; fix --lambda-context (ini lambda_context)")


def _dockerignore(context: Path) -> list[str]:
    # Read the way the docker SDK's own build() reads it, so the hash covers what the build will see.
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE | re.MULTILINE)
_ARG_REF = re.compile(r"\$\{?(\w+)\}?")


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile builds FROM, with `${ARG}`s filled from the build args and ARG defaults."""
    defaults = dict(re.findall(r"^\s*ARG\s+(\w+)=(\S+)", dockerfile_text, re.IGNORECASE | re.MULTILINE))
    values = {**defaults, **build_args}
    stages = set(re.findall(r"^\s*FROM\s+\S+(?:\s+\S+)?\s+AS\s+(\S+)", dockerfile_text, re.IGNORECASE | re.MULTILINE))
    refs = [_ARG_REF.sub(lambda m: values.get(m[1], ""), ref) for ref in _FROM.findall(dockerfile_text)]
    return [ref for ref in refs if ref and ref.lower() != "scratch" and ref not in stages]


def content_tag(
    dockerfile: Path,
    context: Path,
    build_args: Mapping[str, str],
    platform: str | None,
    base_ids: tuple[str, ...] = (),
) -> str:
    """A tag naming exactly this build's inputs: the files the context sends (honouring .dockerignore),
    the Dockerfile, the build args, the platform, and the base images' ids (a rebuilt base means a rebuild)."""
    digest = hashlib.sha256()
    digest.update(repr(base_ids).encode())
    digest.update(dockerfile.read_bytes())
    digest.update(repr(sorted(build_args.items())).encode())
    digest.update(repr(platform).encode())
    relative_dockerfile = os.path.relpath(dockerfile, context)
    for name in sorted(exclude_paths(str(context), _dockerignore(context), dockerfile=relative_dockerfile)):
        path = context / name
        if path.is_file() and not path.is_symlink():
            digest.update(name.encode() + b"\0" + oct(path.stat().st_mode & 0o777).encode() + b"\0")
            try:
                with path.open("rb") as f:
                    # In chunks: a context may hold files larger than memory.
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError as exc:
                raise ConfigError(
                    f"cannot read {path} in the build context {context}: {exc.strerror}; make it readable, or "
                    "leave it out of the build with a line in .dockerignore"
                ) from None
        else:
            digest.update(name.encode() + b"\0")
    slug = re.sub(r"[^a-z0-9._-]+", "-", context.resolve().name.lower()).strip("-.") or "function"
    return f"{REPOSITORY}/{slug}:{digest.hexdigest()[:16]}"


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
) -> ImageInfo:
    """Build `dockerfile` in `context` (or reuse the image already built from the same inputs)."""
    build_args = dict(build_args or {})
    report = progress or (lambda _event: None)
    check_build_inputs(dockerfile, context)
    base_ids = []
    for ref in base_images(dockerfile.read_text(errors="replace"), build_args):
        with engine.errors(f"an inspection of image {ref}"):
            try:
                base_ids.append(engine.client.images.get(ref).id or ref)
            except ImageNotFound:
                base_ids.append(ref)  # not local (yet): the build pulls it, or says why it cannot
    tag = content_tag(dockerfile, context, build_args, platform, tuple(base_ids))
    if exists(engine, tag):
        report(BuildProgress(None, None, f"{tag} is up to date with {dockerfile}"))
        return inspect(engine, tag, built=False)

    started = time.monotonic()
    tail: deque[str] = deque(maxlen=40)
    error: str | None = None
    report(BuildProgress(None, None, f"building {dockerfile} as {tag}"))
    try:
        # The build's own failures arrive in the stream; the engine refusing to build at all is one too.
        with engine.errors(f"the build of {dockerfile}"):
            for chunk in engine.client.api.build(
                path=str(context),
                dockerfile=os.path.relpath(dockerfile, context),
                tag=tag,
                buildargs=build_args,
                network_mode=network_mode,
                platform=platform,
                rm=True,
                forcerm=True,
                decode=True,
                labels={LABEL: "1"},
            ):
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if not line.strip():
                            continue
                        tail.append(line)
                        match = _STEP.match(line)
                        if match:
                            report(BuildProgress(int(match[1]), int(match[2]), match[3]))
                if "error" in chunk or "errorDetail" in chunk:
                    error = str(chunk.get("error") or chunk["errorDetail"].get("message", chunk["errorDetail"]))
                    tail.append(error)
                    break
    except EngineRefused as exc:
        error = exc.reason
        tail.append(error)
    if error is not None:
        log_tail = "\n".join(tail)
        raise BuildFailed(
            f"building {dockerfile} (context {context}) failed: {error.strip()}\n"
            f"Last lines of the build log:\n{log_tail}",
            dockerfile=str(dockerfile),
            log_tail=log_tail,
        )
    report(BuildProgress(None, None, f"built {tag} in {time.monotonic() - started:.1f}s"))
    return inspect(engine, tag, built=True)
