"""What a Dockerfile installs with pip, read without building: for the inprocess target, which imports the handler in
the test run's own Python, so that a module the image has and the test environment lacks is named with its fix.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path

from . import dockerfile
from .installs import installs


@dataclass(frozen=True)
class PipInstalls:
    """What the image's RUN lines pip-install: requirements files (as the context has them) and named packages."""

    #: The RUN line it was read from, as written.
    run: str
    requirements: tuple[Path, ...] = ()
    packages: tuple[str, ...] = ()

    def command(self, cwd: Path) -> str:
        """The pip command that installs the same into the test environment, run from `cwd`."""
        words = [w for path in self.requirements for w in ("-r", _shown(path, cwd))] + list(self.packages)
        return shlex.join(["python", "-m", "pip", "install", *words])


def _shown(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def pip_installs(dockerfile_path: Path, context: Path) -> PipInstalls | None:
    """The first RUN line of the Dockerfile that pip-installs anything, read into `PipInstalls`; None when there is
    none (or the Dockerfile cannot be read). A requirements file is found in the context where a COPY took it from."""
    try:
        reading = dockerfile.read(dockerfile_path.read_text())
    except OSError:
        return None
    copied = [source for copy in reading.copies for source in copy.sources]
    for stage in reading.stages:
        for ins in stage.instructions:
            pip = [found for found in installs(ins) if found.tool == "pip"]
            files = [_in_context(path, copied, context) for found in pip for path in found.requirements]
            packages = [package for found in pip for package in found.packages]
            if files or packages:
                return PipInstalls(f"RUN {ins.args}", tuple(files), tuple(packages))
    return None


def _in_context(image_path: str, copied: list[str], context: Path) -> Path:
    """Where the context has the file a RUN line names by its path in the image: the COPY source of that name (a
    file, or a folder holding it), else the context's own file of that name."""
    name = posixpath.basename(image_path)
    for src in copied:
        local = context / src
        if posixpath.basename(src.rstrip("/")) == name and local.is_file():
            return local
        if local.is_dir() and (local / name).is_file():
            return local / name
    return context / name
