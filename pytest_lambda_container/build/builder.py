"""The two ways a Dockerfile is built: through the docker SDK (the engine's legacy builder), or, for a Dockerfile
that needs BuildKit, through the user's own `docker buildx build` where the docker CLI has buildx.

The legacy builder knows nothing of `RUN --mount`, heredocs, `COPY --chmod`/`--link`, `# syntax=` or a
`<Dockerfile>.dockerignore`, and fails on them with errors that do not say so; the docker SDK cannot speak
BuildKit. So a Dockerfile that needs it goes to the CLI, or fails before any build, naming the line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.client import Engine
from ..errors import ConfigError, EngineRefused
from .dockerfile import BuildKitFeature, Reading
from .progress import BuildOutput
from .syntax import instructions

_LEGACY_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
# `#7 [2/3] RUN ...` or `#7 [stage-1 2/3] RUN ...`; internal steps (`#1 [internal] load ...`) have no number.
_BUILDKIT_STEP = re.compile(r"^#\d+ \[(?:[^\]]* )?(\d+)/(\d+)\] (.*)$")
# The layer each successful legacy step leaves: ` ---> 3f5059a3adf4` (not `---> Running in` or `Using cache`).
_LEGACY_LAYER = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_NOISE = re.compile(r"^( ---> |Removing intermediate container |Successfully (built|tagged) )")


@dataclass(frozen=True)
class BuildRequest:
    """One build: what to build, how to tag and label it, with which arguments, network and platform."""

    dockerfile: Path
    context: Path
    tag: str
    labels: Mapping[str, str] = field(default_factory=dict)
    build_args: Mapping[str, str] = field(default_factory=dict)
    network_mode: str | None = None
    platform: str | None = None
    #: What the docker CLI needs to reach the engine the plugin uses (DOCKER_HOST or DOCKER_CONTEXT).
    engine_environment: Mapping[str, str] = field(default_factory=dict)


@dataclass
class BuildResult:
    """How a build ended: `error` None on success; `last_layer` the last layer a failed legacy build made."""

    error: str | None = None
    last_layer: str | None = None


def legacy_step(line: str) -> tuple[int, int, str] | None:
    """A legacy builder's step line (`Step 2/4 : RUN ...`) as (step, total, text)."""
    match = _LEGACY_STEP.match(line)
    return (int(match[1]), int(match[2]), match[3]) if match else None


def user_steps_only(line: str, user_steps: int) -> str | None:
    """A legacy build log line as the user's Dockerfile counts steps, or None for a step of ours.

    The legacy builder adds our labels as steps after the Dockerfile's own (one per label on some engines, one
    for all on others): the user's Dockerfile has not those steps, so they leave the count and the log.
    """
    step = legacy_step(line.rstrip("\n"))
    if step is None or step[1] <= user_steps:
        return line
    number, _, text = step
    return f"Step {number}/{user_steps} : {text}\n" if number <= user_steps else None


def buildkit_step(line: str) -> tuple[int, int, str] | None:
    """A BuildKit plain-progress step header (`#7 [2/3] RUN ...`) as (step, total, text)."""
    match = _BUILDKIT_STEP.match(line)
    return (int(match[1]), int(match[2]), match[3]) if match else None


def buildkit_features(reading: Reading, dockerfile: Path) -> list[BuildKitFeature]:
    """What in this build needs BuildKit: the Dockerfile's lines, and a `<Dockerfile>.dockerignore` next to it."""
    found = list(reading.buildkit)
    own_ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if own_ignore.is_file():
        found.append(BuildKitFeature(0, f"{own_ignore.name}, an ignore file of this Dockerfile's own"))
    return found


def buildx_available() -> bool:
    """True when the docker CLI is installed and has the buildx plugin (`docker buildx version` works)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "buildx", "version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def buildkit_needed(dockerfile: Path, features: Sequence[BuildKitFeature]) -> ConfigError:
    """The error for a Dockerfile that needs BuildKit on a machine without buildx: which lines, and the fixes."""
    lines = dockerfile.read_text(errors="replace").splitlines()
    where = ", ".join(
        f"line {f.line} `{_shorten(lines[f.line - 1])}` ({f.what})" if 0 < f.line <= len(lines) else f.what
        for f in features
    )
    return ConfigError(
        f"{dockerfile} needs BuildKit: {where}. This machine has no `docker buildx` to build it with, and the "
        "engine's builder the plugin uses otherwise has no BuildKit. Install the docker CLI's buildx plugin "
        "(package docker-buildx-plugin or docker-buildx; `docker buildx version` must work), or drop those features "
        "from the Dockerfile."
    )


def _shorten(line: str, width: int = 60) -> str:
    line = line.strip()
    return line if len(line) <= width else line[: width - 3] + "..."


def build_with_sdk(engine: Engine, request: BuildRequest, output: BuildOutput) -> BuildResult:
    """Build through the docker SDK, feeding `output`; the build's own failure is in the result."""
    result = BuildResult()
    # The legacy builder makes one step of each instruction, ARGs before FROM included.
    user_steps = len(instructions(request.dockerfile.read_text(errors="replace"))[1])
    try:
        # The build's own failures arrive in the stream; the engine refusing to build at all is one too.
        with engine.errors(f"the build of {request.dockerfile}"):
            for chunk in engine.client.api.build(
                path=str(request.context),
                dockerfile=os.path.relpath(request.dockerfile, request.context),
                tag=request.tag,
                buildargs=dict(request.build_args),
                network_mode=request.network_mode,
                platform=request.platform,
                rm=True,
                forcerm=True,
                decode=True,
                labels=dict(request.labels),
            ):
                for line in str(chunk.get("stream") or "").splitlines(keepends=True):
                    layer = _LEGACY_LAYER.match(line.rstrip())
                    result.last_layer = layer[1] if layer else result.last_layer
                    kept = user_steps_only(line, user_steps)
                    if kept and not _NOISE.match(kept):  # the builder's bookkeeping: neither progress nor news
                        output.feed(kept)
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("errorDetail") or {}
                    result.error = str(chunk.get("error") or detail.get("message", detail))
                    output.feed(result.error + "\n")
                    break
    except EngineRefused as exc:
        result.error = exc.reason
        output.feed(exc.reason + "\n")
    return result


def buildx_command(docker: str, request: BuildRequest) -> list[str]:
    """The `docker buildx build` command line of a request. Build args are named only: their values reach the
    CLI through its environment (`--build-arg NAME` reads it there), never through a command line `ps` shows."""
    command = [docker, "buildx", "build", "--load", "--progress=plain", "--file", str(request.dockerfile)]
    command += ["--tag", request.tag]
    for key, value in request.labels.items():
        command += ["--label", f"{key}={value}"]
    for name in request.build_args:
        command += ["--build-arg", name]
    if request.network_mode:
        command += ["--network", request.network_mode]
    if request.platform:
        command += ["--platform", request.platform]
    return [*command, str(request.context)]


def build_with_buildx(request: BuildRequest, output: BuildOutput) -> BuildResult:
    """Build with the user's docker CLI and its buildx plugin (the user's own build path: a subprocess is the
    way to reach it), streaming its plain progress into `output`."""
    docker = shutil.which("docker") or "docker"
    # The same engine as the plugin's (engine/endpoint.py), even if a context is picked some other way.
    env = {**os.environ, **request.engine_environment, **request.build_args}
    try:
        process = subprocess.Popen(
            buildx_command(docker, request),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        return BuildResult(error=f"cannot run {docker} buildx build: {exc.strerror}")
    errors: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ERROR:") or line.startswith("ERROR "):
                errors.append(line.strip())
            output.feed(line)
        code = process.wait()
    finally:
        if process.poll() is None:  # interrupted (Ctrl-C): the build must not outlive the session
            process.kill()
            process.wait()
    if code == 0:
        return BuildResult()
    return BuildResult(error=errors[-1] if errors else f"docker buildx build exited with code {code}")
