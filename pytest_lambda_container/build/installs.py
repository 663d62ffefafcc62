"""What a Dockerfile's RUN lines install, read without building: each install command of a RUN line (`pip install`
in any spelling, or another installer), with the packages and requirements files pip is given.

One reading for every question asked of it: does the image install the runtime client (the doctor), is the code
copied before the dependencies' install (the doctor's layer order), what should the test environment install to
import the handler in-process (the inprocess target).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from .syntax import Instruction

#: A RUN line's shell commands: split at `;`, `&&`, `||`, `|` and newlines.
_COMMANDS = re.compile(r"&&|\|\||[;|\n]")
#: Installers of a lock file or an environment, whose packages this reading does not see.
_OTHER = re.compile(
    r"\b(poetry|pipenv|pdm|hatch)\s+install\b|\b(uv)\s+(?:sync|pip\s+install)\b|\b(conda|mamba|micromamba)\b"
)
#: pip's install options that take a value (the value is not a package).
_VALUED = frozenset(
    {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-t", "--target", "--prefix", "--root", "-f",
     "--find-links", "--platform", "--python-version", "--implementation", "--abi", "--only-binary", "--no-binary",
     "--trusted-host", "--cache-dir", "--src", "--progress-bar", "--upgrade-strategy"}
)  # fmt: skip


@dataclass(frozen=True)
class Install:
    """One install command of a RUN line: by pip (`packages` as written, `requirements` files as the image has
    them, `itself` for the context's own project: `pip install .`, `-e .`) or by another `tool`."""

    instruction: Instruction
    tool: str = "pip"
    packages: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    itself: bool = False

    @property
    def readable(self) -> bool:
        """True when this reading sees what it installs: pip's named packages and requirements files."""
        return self.tool == "pip" and not self.itself

    def names(self, package: str) -> bool:
        """True when pip is given `package` by name (any version, extras, case or `-`/`_`/`.` spelling)."""
        return any(project_name(p) == project_name(package) for p in self.packages)


def project_name(requirement: str) -> str:
    """A requirement's project name, normalised as pip compares them (PEP 503): `AWSLambdaRIC==2.0` -> awslambdaric."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return re.sub(r"[-_.]+", "-", name[0]).lower() if name else ""


def installs(ins: Instruction) -> list[Install]:
    """The install commands of a RUN instruction, in order (none for another instruction, or a heredoc's body)."""
    if ins.keyword != "RUN":
        return []
    found: list[Install] = []
    for command in _COMMANDS.split(ins.args):
        words = _words(command)
        at = next((i for i, w in enumerate(words) if re.fullmatch(r"pip[0-9.]*", posixpath.basename(w))), None)
        if at is not None and "install" in words[at + 1 :]:
            found.append(_pip(ins, words[words.index("install", at + 1) + 1 :]))
            continue
        other = _OTHER.search(command)
        if other:
            found.append(Install(ins, tool=next(g for g in other.groups() if g)))
    return found


def _pip(ins: Instruction, args: list[str]) -> Install:
    packages: list[str] = []
    requirements: list[str] = []
    itself = False
    words = iter(args)
    for word in words:
        if word in ("-r", "--requirement"):
            requirements.append(next(words, ""))
        elif word.startswith("--requirement="):
            requirements.append(word.partition("=")[2])
        elif word in ("-e", "--editable"):
            itself = itself or next(words, "").startswith(".")
        elif word in _VALUED:
            next(words, None)
        elif word == "." or word.startswith(("./", ".[")):
            itself = True
        elif not word.startswith(("-", ".", "/", "$")):
            packages.append(word)
    return Install(ins, "pip", tuple(packages), tuple(r for r in requirements if r), itself)


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()
