"""Download the aws-sam-cli wheel with whatever pip the machine has.

pip itself, never a hand-made HTTP call: it honours the user's index, proxy and certificate settings. The test
environment need not have it (`python -m venv --without-pip`, uv's environments): then another Python's pip on
PATH does, or uv's `uvx pip` (uv has no `pip download` of its own); failing all of them, the error gives the
commands to run by hand.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmulatorUnavailable

#: The wheel that ships the same emulator binaries AWS publishes, for `sam local`.
WHEEL_PROJECT = "aws-sam-cli"
WHEEL_GLOB = "aws_sam_cli-*.whl"
#: Only the wheel, never its dependencies; any Python may fetch it, as only a binary is taken from it.
DOWNLOAD_ARGS = ("download", "--no-deps", "--only-binary=:all:", "--ignore-requires-python")
#: Other Pythons and pips, in the order they are tried, each with what makes it pip.
PATH_PIPS = (("python3", ("-m", "pip")), ("python", ("-m", "pip")), ("pip3", ()), ("pip", ()))
#: A probe may have to fetch pip first (uvx): give it time, but not forever.
PROBE_TIMEOUT = 120.0


@dataclass(frozen=True)
class Pip:
    """A pip this machine can run: the command that starts it, and what it says it is."""

    command: tuple[str, ...]
    version: str

    def __str__(self) -> str:
        return " ".join(shlex.quote(part) for part in self.command)


def candidates(path: str | None = None) -> Iterator[tuple[str, ...]]:
    """Commands that may start a pip, best first: this interpreter's, other Pythons' and pips on `path`
    (default $PATH), then uv's."""
    yield (sys.executable, "-m", "pip")
    seen = {os.path.abspath(sys.executable)}
    folders = [d for d in (os.environ.get("PATH", "") if path is None else path).split(os.pathsep) if d]
    for name, tail in PATH_PIPS:
        # Every match on PATH, not only the first: a pip-less venv's python3 usually shadows one that has pip.
        for folder in folders:
            exe = os.path.abspath(os.path.join(folder, name))
            if exe not in seen and os.path.isfile(exe) and os.access(exe, os.X_OK):
                seen.add(exe)
                yield (exe, *tail)
    for folder in folders:
        uvx, uv = os.path.join(folder, "uvx"), os.path.join(folder, "uv")
        if os.access(uvx, os.X_OK):
            yield (os.path.abspath(uvx), "pip")
            return
        if os.access(uv, os.X_OK):
            yield (os.path.abspath(uv), "tool", "run", "pip")
            return


def find_pip(path: str | None = None) -> Pip | None:
    """The first of `candidates` that answers `--version`, or None when this machine has no pip at all."""
    for command in candidates(path):
        try:
            proc = subprocess.run(
                [*command, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip():
            return Pip(command, proc.stdout.strip().splitlines()[0])
    return None


def manual_commands(arch: str, folder: str = "/tmp/aws-sam-cli") -> str:
    """The commands that provision the emulator by hand, with any Python that has pip."""
    arch_flag = "" if arch == "x86_64" else f" --arch {arch}"
    return (
        f"    python3 -m pip download --no-deps --only-binary=:all: -d {folder} {WHEEL_PROJECT}\n"
        f"    {shlex.quote(sys.executable)} -m pytest_lambda_container rie{arch_flag} "
        f"--from-wheel {folder}/{WHEEL_GLOB}"
    )


def no_pip_error(arch: str) -> EmulatorUnavailable:
    """What to say when nothing here can run pip."""
    names = ", ".join(name for name, _ in PATH_PIPS)
    return EmulatorUnavailable(
        f"no pip to download the {WHEEL_PROJECT} wheel (which ships aws-lambda-rie) with: this Python "
        f"({sys.executable}) has no pip module, and PATH has no {names} that has one, nor uv. Download the wheel "
        f"with any Python that has pip (on any machine), then install the emulator from it:\n"
        f"{manual_commands(arch)}\n"
        "or put the aws-lambda-rie binary at ~/.aws-lambda-rie/aws-lambda-rie, or pass --lambda-rie PATH."
    )


def download(folder: Path, arch: str, say: Callable[[str], None]) -> Path:
    """Download the aws-sam-cli wheel into `folder` with the first pip found; its path."""
    pip = find_pip()
    if pip is None:
        raise no_pip_error(arch)
    say(
        f"downloading the {WHEEL_PROJECT} wheel with {pip} ({pip.version}), to extract aws-lambda-rie-{arch} "
        "(once per machine)"
    )
    command = [*pip.command, *DOWNLOAD_ARGS, "--progress-bar", "off", "--disable-pip-version-check"]
    command += ["-d", str(folder), WHEEL_PROJECT]
    try:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        raise EmulatorUnavailable(f"could not run {pip} to fetch {WHEEL_PROJECT}: {exc}") from None
    output = []
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())
        if line.strip():
            say("pip: " + line.strip())
    if proc.wait() != 0:
        raise EmulatorUnavailable(
            f"`{shlex.join(command)}` failed (exit {proc.returncode}):\n" + "\n".join(output[-15:]) + "\n"
            "Fix pip's index or proxy settings (pip.conf, PIP_INDEX_URL, HTTPS_PROXY), or provision by hand:\n"
            f"{manual_commands(arch)}\n"
            "or put the aws-lambda-rie binary at ~/.aws-lambda-rie/aws-lambda-rie, or pass --lambda-rie PATH."
        )
    wheels = sorted(folder.glob(WHEEL_GLOB))
    if not wheels:
        raise EmulatorUnavailable(f"{pip} downloaded no {WHEEL_PROJECT} wheel into {folder}")
    return wheels[-1]
