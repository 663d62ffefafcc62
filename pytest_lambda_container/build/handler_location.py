"""Where a Dockerfile puts the function's handler, read without building: the handler the runtime would get and the
folder of the build context that becomes the runtime's import root — for the inprocess target, which imports it.

The runtime imports the handler's module from its import root (`ImageConfig.import_root`: LAMBDA_TASK_ROOT on AWS
base images, the working directory for awslambdaric in any other image). So the folder is the context folder whose
files the Dockerfile's `COPY`/`ADD` put there (`COPY app.py ./` with `WORKDIR /function`: the context itself;
`COPY src/ ${LAMBDA_TASK_ROOT}`: the context's `src`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from . import dockerfile, image_config
from .syntax import substitute

#: `module.function` or `package.module.function`, as the Python runtime takes a handler.
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


@dataclass(frozen=True)
class HandlerLocation:
    """A handler and the folder its module is imported from."""

    handler: str
    folder: Path
    #: How the folder was found, for error messages.
    how: str

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


def module_files(module: str) -> tuple[str, str]:
    """The two files a module can be, relative to the import root: `pkg/mod.py` or `pkg/mod/__init__.py`."""
    path = module.replace(".", "/")
    return f"{path}.py", f"{path}/__init__.py"


def check_handler(handler: str, where: str, hint: str = "") -> str:
    """`handler` if it names a Python handler (`module.function`), else a `ConfigError` saying what to give."""
    if not _HANDLER.match(handler):
        raise ConfigError(
            f"{where} is {handler!r}, which is not a Python handler (module.function, e.g. app.handler){hint}: give "
            "the handler with --lambda-handler (ini lambda_handler)"
        )
    return handler


def locate(
    dockerfile_path: Path,
    context: Path,
    *,
    handler: str | None = None,
    import_root: Path | None = None,
    build_args: Mapping[str, str] | None = None,
) -> HandlerLocation:
    """The handler (`handler`, else the one the image's ENTRYPOINT + CMD give the runtime) and its import root
    (`import_root`, else where the Dockerfile copies the handler's module from, else the build context, if the module
    is there)."""
    reading = None
    if handler is None or import_root is None:
        try:
            text = dockerfile_path.read_text()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {dockerfile_path} ({exc.strerror}) to find the handler: give --lambda-handler and "
                "--lambda-source, or --lambda-dockerfile"
            ) from None
        reading = dockerfile.read(text, build_args)
        if not reading.stages:
            raise ConfigError(f"{dockerfile_path} has no FROM: it builds no image to find the handler in")
    if handler is None:
        assert reading is not None
        config = image_config.of_dockerfile(reading)
        if not config.handler:
            raise ConfigError(f"{dockerfile_path} has no CMD naming the handler: give it with --lambda-handler")
        hint = ""
        if config.cmd_is_shell_form:
            hint = f' (CMD\'s shell form runs `{" ".join(config.cmd)}`: write CMD ["{config.cmd[-1]}"])'
        handler = check_handler(config.handler, f"the handler {dockerfile_path} gives the runtime", hint)
    check_handler(handler, "the handler")
    if import_root is not None:
        return HandlerLocation(handler, import_root, f"--lambda-source {import_root}")
    assert reading is not None
    module = handler.rpartition(".")[0]
    found = _copied_from(reading, context, module)
    if found is not None:
        return HandlerLocation(handler, found, f"where {dockerfile_path.name} copies {module_files(module)[0]} from")
    if any((context / name).is_file() for name in module_files(module)):
        return HandlerLocation(handler, context, f"the build context {context}")
    raise ConfigError(
        f"cannot find the handler's module {module_files(module)[0]} for {handler}: {dockerfile_path} does not copy it "
        f"from a context folder this reading can tell, and it is not in the build context {context}. Give the folder "
        "it is imported from with --lambda-source DIR (ini lambda_source)"
    )


def _copied_from(reading: dockerfile.Reading, context: Path, module: str) -> Path | None:
    """The context folder that the final image's COPY/ADD make the import root, judged by the module's file."""
    copies = {id(c.instruction): c for c in reading.copies}
    placed: list[tuple[str, str]] = []  # (context path, absolute destination), in order
    config = image_config.start(reading)
    for step in image_config.steps(reading):
        config = step.config
        copy = copies.get(id(step.instruction))
        if copy is None:
            continue
        dest = substitute(copy.destination, step.values, strict=False) or copy.destination
        folder_like = dest.endswith("/") or dest in (".", "./") or len(copy.sources) > 1
        dest = posixpath.normpath(posixpath.join(config.workdir or "/", dest))
        placed += [(src, dest + ("/" if folder_like else "")) for src in copy.sources]
    root = config.import_root
    for name in module_files(module):
        wanted = posixpath.join(root, name)
        for src, dest in reversed(placed):  # the last COPY of a path wins
            local = context / src
            if local.is_dir():
                base = dest.rstrip("/") or "/"
                if wanted.startswith(base.rstrip("/") + "/"):
                    inside = posixpath.relpath(wanted, base)
                    if (local / inside).is_file():
                        # The import root is that much above the module within the copied folder.
                        up = posixpath.relpath(root, base)
                        return (local / up).resolve() if up != "." else local.resolve()
            elif local.is_file():
                target = posixpath.join(dest, posixpath.basename(src)) if dest.endswith("/") else dest
                if target == wanted:
                    depth = name.count("/")
                    folder = local.parent
                    for _ in range(depth):
                        folder = folder.parent
                    return folder.resolve()
    return None
