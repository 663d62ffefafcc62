"""CPU architectures under their three spellings: Docker's (`amd64`), the emulator's (`x86_64`), the kernel's.

The one table of them; every other module asks here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    """One architecture as each tool spells it."""

    docker: str  # image config, `docker info`, `--platform linux/<docker>`
    rie: str  # aws-lambda-rie-<rie> in the aws-sam-cli wheel
    kernel: str  # `uname -m`, the engine's version answer, binfmt's qemu-<kernel>
    elf_machine: int  # e_machine in the ELF header


ARCHES = (
    Arch(docker="amd64", rie="x86_64", kernel="x86_64", elf_machine=62),
    Arch(docker="arm64", rie="arm64", kernel="aarch64", elf_machine=183),
)
#: Every spelling of every architecture we know, to its `Arch`.
_BY_NAME = {name: arch for arch in ARCHES for name in (arch.docker, arch.rie, arch.kernel)}
#: Lambda's two architectures, in the emulator's spelling (`--arch` choices).
RIE_ARCHES = tuple(arch.rie for arch in ARCHES)


def find(name: str) -> Arch | None:
    """The architecture any tool spells `name` (`amd64`, `x86_64`, `aarch64`, `arm64`), or None."""
    return _BY_NAME.get(name.strip().lower())


def docker_arch(name: str) -> str:
    """Docker's spelling of `name`; an unknown one is returned as it is."""
    arch = find(name)
    return arch.docker if arch else name


def rie_arch(name: str) -> str:
    """The aws-lambda-rie build for `name`; Lambda's default, x86_64, for an architecture Lambda does not run."""
    arch = find(name)
    return arch.rie if arch else ARCHES[0].rie
