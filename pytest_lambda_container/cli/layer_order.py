"""The doctor's check of a Dockerfile's layer order: is the app's code copied before its dependencies are installed?

The builder reuses a step's cached layer only while every step before it is unchanged. A `COPY app.py` before
`RUN pip install -r requirements.txt` therefore makes every edit of `app.py` run the install again (12-18 s for
FastAPI + Mangum on a 2-core machine), where the install's layer would be reused if the code came after it:
https://docs.docker.com/build/cache/optimize/#order-your-layers

The time that costs is read from the last image built of this Dockerfile: the engine keeps each layer's creation
time in the image's history, and the install step's layer was made that long after the one before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..build.image import ImageInfo, current_tag, exists
from ..build.installs import installs
from ..build.prune import LABEL_BUILD, build_labels
from ..build.stages import Stages
from ..build.syntax import Instruction, flag
from ..config.settings import Settings
from ..engine.client import Engine
from ..errors import LambdaContainerError
from .project_check import Check, matches

#: Files that describe dependencies rather than hold the app's code.
_DEPENDENCY_FILES = re.compile(
    r"^(requirements[^/]*\.txt|constraints[^/]*\.txt|pyproject\.toml|setup\.(py|cfg)|poetry\.lock|Pipfile(\.lock)?|"
    r"uv\.lock|pdm\.lock)$"
)


@dataclass(frozen=True)
class EarlyCopy:
    """A COPY/ADD of the app's code that comes before the step installing the dependencies."""

    copy: Instruction
    code: tuple[str, ...]
    install: Instruction


def early_copy(df: Stages, context: Path) -> EarlyCopy | None:
    """The first COPY/ADD of code files (`*.py` other than setup.py, or a folder holding some) from the context that
    comes before the final image's dependency install, in the same stage lineage; None when the order is right."""
    instructions = [ins for stage in df.chain()[1] for ins in stage.instructions]
    install = next((ins for ins in instructions if installs(ins)), None)
    if install is None or any(found.itself for found in installs(install)):
        return None  # the project installing itself needs its code first: no order would help
    lines = {ins.line for ins in instructions if ins.line < install.line}
    for copy in df.reading.copies:
        if copy.instruction.line not in lines or flag(copy.instruction, "from"):
            continue
        code = sorted({name for source in copy.sources for name in _code_files(context, source)})
        if code:
            return EarlyCopy(copy.instruction, tuple(code), install)
    return None


def line(engine: Engine | None, settings: Settings, df: Stages, built: ImageInfo | None) -> Check | None:
    """The doctor's warning when the settings' Dockerfile copies code before its install (None: it does not), with
    the install's time in the image just built, else the last one built of this Dockerfile, if any is left."""
    found = early_copy(df, settings.context_path)
    if found is None or engine is None:
        return check(found)
    seconds = None
    try:
        ref = built.ref if built else _last_build(engine, settings)
        if ref is not None:
            with engine.errors(f"a history of image {ref}"):
                seconds = install_seconds(engine.client.images.get(ref).history(), found.install)
    except LambdaContainerError:
        pass  # the warning stands without its figure
    return check(found, seconds)


def _last_build(engine: Engine, settings: Settings) -> str | None:
    """The image of the Dockerfile's content as it is now, else the newest built of the settings' Dockerfile,
    context, build args and platform, if any is left. The content's first: an image of the same content built from
    another checkout (another path in its labels) is the one a run here would use, not build again."""
    tag = current_tag(engine, settings.dockerfile_path, settings.context_path, settings.build_args, settings.platform)
    if exists(engine, tag):
        return tag
    labels = build_labels(settings.dockerfile_path, settings.context_path, settings.build_args, settings.platform)
    with engine.errors("a listing of the images built before"):
        found = engine.client.images.list(filters={"label": f"{LABEL_BUILD}={labels[LABEL_BUILD]}"})
    newest = max(found, key=lambda image: str(image.attrs.get("Created", "")), default=None)
    return newest.id if newest is not None else None


def check(found: EarlyCopy | None, install_seconds: float | None = None) -> Check | None:
    """The doctor's line for `found` (None when the order is right), with the time the install took when it last ran."""
    if found is None:
        return None
    shown = ", ".join(found.code[:3]) + (f" and {len(found.code) - 3} more" if len(found.code) > 3 else "")
    cost = f" (it took {install_seconds:.0f} s when it last ran)" if install_seconds is not None else ""
    return Check(
        "layer order",
        "WARNING",
        f"line {found.copy.line} copies {shown} before line {found.install.line} installs the dependencies, so "
        f"every edit of the code runs the install again{cost}: copy only the requirements file first, install, "
        "then COPY the code (its layer is then the only one rebuilt)",
    )


def install_seconds(history: Sequence[dict[str, Any]], install: Instruction) -> float | None:
    """How long the install step took in the build whose image has this `history` (the engine's, newest layer
    first): its layer's creation time minus the layer's before it. None when the history does not show the step."""
    wanted = " ".join(install.args.split())
    for i, layer in enumerate(history[:-1]):
        created_by = " ".join(str(layer.get("CreatedBy", "")).split())
        if wanted and wanted in created_by and "#(nop)" not in created_by:
            before = history[i + 1].get("Created")
            made = layer.get("Created")
            if isinstance(made, (int, float)) and isinstance(before, (int, float)) and made >= before:
                return float(made - before)
            return None
    return None


def _code_files(context: Path, source: str) -> Iterator[str]:
    """The code files (relative to the context) that a cleaned COPY source takes."""
    for path in matches(context, source):
        if path.is_file():
            if _is_code(path):
                yield str(path.relative_to(context))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if _is_code(p) and ".venv" not in p.parts)
            if found:
                yield (str(path.relative_to(context)) or ".") + "/"


def _is_code(path: Path) -> bool:
    return path.suffix == ".py" and not _DEPENDENCY_FILES.match(path.name)
