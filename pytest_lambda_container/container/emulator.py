"""Find aws-lambda-rie, or provision it from the aws-sam-cli wheel into a cache shared by every pytest process."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..build import platforms
from ..config.defaults import cache_dir as cache_dir  # where it always was for its users (handoff, reuse, builds)
from ..errors import EmulatorUnavailable
from . import emulator_wheel as rie_wheel
from .delivery import Bundle, BundleFile
from .protocol import RIE_DIR, RIE_MOUNT

WHEEL_MEMBER = "samcli/local/rapid/aws-lambda-rie-{arch}"
#: ELF e_machine of each build, to refuse a binary for the wrong architecture.
ELF_MACHINE = {arch.rie: arch.elf_machine for arch in platforms.ARCHES}
#: Where users put it by hand, following AWS's docs.
USER_BINARY = Path("~/.aws-lambda-rie/aws-lambda-rie")


def bundle(path: Path) -> Bundle:
    """The emulator at `path` as custom images get it: executable at /aws-lambda/aws-lambda-rie, through a volume
    (`delivery.deliver`), so that it reaches engines that cannot see this machine's files."""
    try:
        path.open("rb").close()  # read when a fill needs it; its digest is remembered in the cache
    except OSError as exc:
        raise EmulatorUnavailable(f"cannot read aws-lambda-rie at {path}: {exc}") from None
    binary = BundleFile(RIE_MOUNT.removeprefix(RIE_DIR + "/"), path, 0o755)
    return Bundle("emulator", RIE_DIR, (binary,), digests=cache_dir() / "digests")


def elf_machine(path: Path) -> int | None:
    """The ELF machine number of `path`, or None when it is not an ELF executable."""
    try:
        with path.open("rb") as f:
            header = f.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def is_rie_for(path: Path, arch: str) -> bool:
    """True when `path` is an executable for `arch` (`x86_64` or `arm64`)."""
    return path.is_file() and elf_machine(path) == ELF_MACHINE[arch]


def locate(arch: str, explicit: Path | None = None, *, log: Callable[[str], None] | None = None) -> Path:
    """The emulator for `arch`: `explicit`, else ~/.aws-lambda-rie/aws-lambda-rie, else the cache (provisioned)."""
    if arch not in ELF_MACHINE:
        raise EmulatorUnavailable(
            f"no aws-lambda-rie build for architecture {arch!r}; known: {', '.join(platforms.RIE_ARCHES)}"
        )
    if explicit is not None:
        if not explicit.is_file():
            raise EmulatorUnavailable(f"--lambda-rie {explicit}: no such file")
        if elf_machine(explicit) != ELF_MACHINE[arch]:
            raise EmulatorUnavailable(
                f"--lambda-rie {explicit} is not an aws-lambda-rie binary for {arch} (the image's architecture); "
                f"give the aws-lambda-rie-{arch} build, or drop --lambda-rie to let the plugin fetch it"
            )
        return explicit
    return find_cached(arch) or provision(arch, log=log)


def find_cached(arch: str) -> Path | None:
    """An emulator for `arch` already on this machine: ~/.aws-lambda-rie/aws-lambda-rie[-ARCH], or the cache."""
    user = USER_BINARY.expanduser()
    for candidate in (user, user.with_name(f"aws-lambda-rie-{arch}"), cache_dir() / f"aws-lambda-rie-{arch}"):
        if is_rie_for(candidate, arch):
            return candidate
    return None


def provision(
    arch: str, *, log: Callable[[str], None] | None = None, dest: Path | None = None, wheel: Path | None = None
) -> Path:
    """Extract the emulator for `arch` from the aws-sam-cli `wheel` (downloaded with pip when not given), check
    it against the wheel's RECORD, and install it atomically into the cache (a file lock keeps concurrent
    processes apart)."""
    # Imported here: a provision alone locks the cache; a start finds the emulator there (issue 17).
    from filelock import FileLock, Timeout

    folder = dest or cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / ".rie.lock"), timeout=900):
            return _provision(arch, folder, log or (lambda _line: None), wheel)
    except (OSError, zipfile.BadZipFile, Timeout) as exc:
        raise EmulatorUnavailable(
            f"could not provision aws-lambda-rie-{arch} into {folder}: {exc}; set PYTEST_LAMBDA_CONTAINER_CACHE to "
            "a writable folder, or pass --lambda-rie PATH"
        ) from None


def _provision(arch: str, folder: Path, say: Callable[[str], None], wheel: Path | None) -> Path:
    """Under the cache's lock: install the emulator, unless another process did while we waited."""
    target = folder / f"aws-lambda-rie-{arch}"
    if wheel is not None:
        install_from_wheel(wheel, arch, folder)
    elif is_rie_for(target, arch):
        return target
    else:
        with tempfile.TemporaryDirectory(prefix="plc-rie-") as tmp:
            install_from_wheel(rie_wheel.download(Path(tmp), arch, say), arch, folder)
    say(f"aws-lambda-rie-{arch} cached at {target}")
    return target


def install_from_wheel(wheel: Path, arch: str, folder: Path) -> Path:
    """Extract the emulator for `arch` from an aws-sam-cli `wheel` into `folder`, checked against the wheel's
    RECORD and the ELF machine, atomically (a reader never sees half a binary); its path."""
    target = folder / f"aws-lambda-rie-{arch}"
    data = _extract_verified(wheel, WHEEL_MEMBER.format(arch=arch))
    fd, name = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=folder)
    # Closed before anyone can exec it: an open writable fd makes exec fail with "text file busy".
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    partial = Path(name)
    partial.chmod(0o755)
    if elf_machine(partial) != ELF_MACHINE[arch]:
        partial.unlink()
        raise EmulatorUnavailable(f"{wheel.name} holds no {arch} aws-lambda-rie (wrong ELF machine)")
    os.replace(partial, target)
    return target


def _extract_verified(wheel: Path, member: str) -> bytes:
    """The member's bytes, after checking them against the sha256 the wheel's RECORD lists for it."""
    with zipfile.ZipFile(wheel) as archive:
        record_name = next((n for n in archive.namelist() if n.endswith(".dist-info/RECORD")), None)
        if record_name is None or member not in archive.namelist():
            raise EmulatorUnavailable(f"{wheel.name} has no {member}")
        expected = None
        for line in archive.read(record_name).decode().splitlines():
            name, _, rest = line.partition(",")
            if name == member:
                expected = rest.split(",")[0]
        data = archive.read(member)
    if not expected or not expected.startswith("sha256="):
        raise EmulatorUnavailable(f"{wheel.name}'s RECORD lists no sha256 for {member}")
    actual = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if actual != expected:
        raise EmulatorUnavailable(f"{member} in {wheel.name} does not match its RECORD ({actual} != {expected})")
    return data
