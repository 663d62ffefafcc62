"""Whether the last run of the same command line reached the configured function: a run that did starts the next one's
container before pytest imports the conftests and collects (issue 17: one test for the price of `docker run` by hand).

Before collection nothing says whether a test will need the container, and starting one that no test needs costs a
cold start for nothing (`pytest tests/unit` in a project whose container tests live elsewhere). The same command line
in the same folder, though, mostly selects the same tests, as pytest's own `--lf` trusts the last run. A forecast
that turns out wrong costs what collection then undoes: the container is removed at once, unseen
(`collecting.StartWhileCollecting`), and the memory is corrected for the next run.

With the answer, the run's settings (`config.settings.as_json`): the next run starts the container as soon as pytest
registers the plugin, with them, before pytest has loaded its other plugins (collecting.py), and keeps it if its own
settings turn out the same. They may hold the function's environment, so the file is the user's alone (mode 0600).

One small file per command line under the plugin's cache, written when the answer or the settings change and touched
when a forecast is read from it; files unused for `KEEP_DAYS` are pruned when a new one is written. Pure file work: no
Docker, no pytest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.defaults import cache_dir, prune_cache

KEEP_DAYS = 30
REACHED, NOT_REACHED = "reached", "not reached"


def key(rootdir: Path, invocation_dir: Path, args: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The command line's identity: where pytest ran, its arguments, and the arguments it read from the environment."""
    env = os.environ if environ is None else environ
    what = [str(rootdir), str(invocation_dir), list(args), env.get("PYTEST_ADDOPTS", "")]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Memory:
    """What the last run of a command line did."""

    #: Whether a test of it reached the configured function.
    reached: bool
    #: Its settings, as `config.settings.as_json` wrote them (None: not reached, or remembered without them).
    settings: Mapping[str, Any] | None = None


def _file(of: str, folder: Path | None) -> Path:
    return (folder or cache_dir() / "forecast") / of


def recall(of: str, *, folder: Path | None = None) -> Memory | None:
    """What the last run of command line `of` did; None if it never ran (or its memory cannot be read: no forecast,
    the container starts at collection)."""
    path = _file(of, folder)
    try:
        text = path.read_text()
        if text in (REACHED, NOT_REACHED):  # written by an earlier version: the answer alone
            memory = Memory(text == REACHED)
        else:
            data = json.loads(text)
            memory = Memory(data["reached"] is True, data.get("settings") if data["reached"] is True else None)
        if memory.reached:
            os.utime(path)  # used: not pruned while the command line is run
        return memory
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def reached_last_time(of: str, *, folder: Path | None = None) -> bool:
    """Whether the last run of command line `of` had a test that reached the configured function."""
    memory = recall(of, folder=folder)
    return memory is not None and memory.reached


def remember(of: str, reached: bool, *, settings: Mapping[str, Any] | None = None, folder: Path | None = None) -> None:
    """Record what this run of command line `of` did, and with which `settings` if it reached the function; best
    effort (a read-only home only loses the forecast)."""
    path = _file(of, folder)
    answer = json.dumps({"reached": reached, "settings": dict(settings) if reached and settings else None})
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.read_text() == answer:
            return
    if not reached and not path.exists():
        return  # nothing to correct: a command line that never reached it has no file (most pytester runs)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(answer)
        temporary.replace(path)  # atomic: a concurrent run reads the old answer or the new one, whole
        if fresh:
            prune(path.parent)


def prune(folder: Path, *, now: float | None = None) -> None:
    """Remove the memories of command lines not run for `KEEP_DAYS`."""
    prune_cache(folder, KEEP_DAYS, now=now)
