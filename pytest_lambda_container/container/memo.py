"""A digest of host files remembered on disk by what the files are now (size, times, inode), so that a run finds it
without reading them: the emulator's delivery names its volume by the 9 MB binary's digest on the way to every start
(issue 17: ~0.05 s to read and hash). A file written anew has another size or time (but for a rewrite of the same
size within one tick of the file system's clock), one replaced (as the emulator's cache replaces it) another inode."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def remembered(folder: Path, salt: str, files: Sequence[Path], compute: Callable[[], str]) -> str:
    """The sha256 hex digest `compute` makes of `files` (with `salt`: what else it depends on), from `folder` where
    remembered; else computed, and remembered where the folder can be written."""
    key = hashlib.sha256(salt.encode())
    try:
        for path in files:
            st = path.stat()
            key.update(f"\0{path.resolve()}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}".encode())
            key.update(f"\0{st.st_ctime_ns}".encode())
    except OSError:
        return compute()  # `compute` says what is wrong with the file
    memo = folder / key.hexdigest()[:32]
    with contextlib.suppress(OSError):
        found = memo.read_text()
        if _DIGEST.match(found):
            return found
    digest = compute()
    with contextlib.suppress(OSError):  # unwritable: the next run computes it again
        folder.mkdir(parents=True, exist_ok=True)
        partial = memo.with_name(f"{memo.name}.{os.getpid()}")
        partial.write_text(digest)
        partial.replace(memo)  # whole or absent, for a run reading it at the same moment
    return digest
