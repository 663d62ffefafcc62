"""What a Dockerfile installs with pip, read without building: for the inprocess target, which imports the handler in
the test run's own Python, so that a module the image has and the test environment lacks is named with its fix.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .syntax import flags, instructions

#: `pip install ...`, `pip3 install ...`, `python -m pip install ...`, up to the end of that shell command.
_PIP_INSTALL = re.compile(r"\bpip[0-9.]*\s+install\s+(?P<args>[^;&|\n]*)")
#: pip's install options that take a value (the value is not a package).
_VALUED = frozenset(
    {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-t", "--target", "--prefix", "--root", "-f",
     "--find-links", "--platform", "--python-version", "--implementation", "--abi", "--only-binary", "--no-binary",
     "--trusted-host", "--cache-dir", "--src", "--progress-bar", "--upgrade-strategy"}
)  # fmt: skip


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


def _words(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def pip_installs(dockerfile_path: Path, context: Path) -> PipInstalls | None:
    """The first RUN line of the Dockerfile that pip-installs anything, read into `PipInstalls`; None when there is
    none (or the Dockerfile cannot be read). A requirements file is found in the context where a COPY took it from."""
    try:
        _, found = instructions(dockerfile_path.read_text())
    except OSError:
        return None
    copied = [src for ins in found if ins.keyword in ("COPY", "ADD") for src in _words(flags(ins.args)[1])[:-1]]
    for ins in found:
        if ins.keyword != "RUN":
            continue
        files: list[Path] = []
        packages: list[str] = []
        for match in _PIP_INSTALL.finditer(ins.args):
            words = iter(_words(match["args"]))
            for word in words:
                if word in ("-r", "--requirement"):
                    files.append(_in_context(next(words, ""), copied, context))
                elif word.startswith("--requirement="):
                    files.append(_in_context(word.partition("=")[2], copied, context))
                elif word in _VALUED:
                    next(words, None)
                elif not word.startswith("-") and not word.startswith((".", "/", "$")):
                    packages.append(word)
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
