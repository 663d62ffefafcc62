"""The doctor's trial: the image built (or the given one found) and the function started once, as a test session
starts it, so that what the Dockerfile only suggests is tried in the image itself: that the runtime starts, and that
the handler's module imports and has the handler (the session's start-up check, which invokes nothing).

The container is removed at once; a build is the session's own (same tag, reused by the next `pytest`).
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Callable

from ..build.image import ImageInfo
from ..config.settings import Settings
from ..container.session import LambdaSession
from ..errors import BuildFailed, HandlerImportError, LambdaContainerError, RuntimeUnavailable
from .project_check import Check

#: Lines of a failed build's log the doctor shows (the session's report shows more).
BUILD_TAIL = 12


def trial(settings: Settings, say: Callable[[str], None]) -> tuple[list[Check], ImageInfo | None]:
    """Build (or find) the image and start the function once; the lines of what that showed, and the image."""
    # One container, on any free port, removed at the end (never kept, nor left for reuse): the doctor must not hold
    # the port a test run will want, nor leave a container a later run would take for its own warm one.
    session = LambdaSession(
        dataclasses.replace(settings, port=0, keep=False, reuse=False, concurrency=1),
        log=lambda line: say(f"  {line}"),
        warn=lambda line: say(f"  warning: {line}"),
    )
    try:
        started = time.monotonic()
        try:
            info = session.image()
        except BuildFailed as exc:
            tail = (exc.logs or "").splitlines()[-BUILD_TAIL:]
            return [Check("image", "MISSING", "\n".join([str(exc), *(f"  | {line}" for line in tail)]))], None
        except LambdaContainerError as exc:
            return [Check("image", "MISSING", str(exc))], None
        took = (
            "given with --lambda-image, as it is"
            if settings.image
            else f"built now in {time.monotonic() - started:.0f} s"
            if info.built
            else "up to date, nothing to build"
        )
        checks = [Check("image", "ok", f"{info.ref} ({took})")]
        try:
            container = session.container()
        except RuntimeUnavailable as exc:
            return [*checks, Check("runtime start", "MISSING", f"tried in the image: {exc}")], info
        except HandlerImportError as exc:
            if not info.runs_emulator:
                checks.append(Check("runtime start", "ok", "tried in the image: the runtime client starts"))
            return [*checks, Check("handler", "MISSING", f"tried in the image: {exc}")], info
        except LambdaContainerError as exc:
            return [*checks, Check("container", "MISSING", str(exc))], info
        check = container.plan.startup_check
        if not info.runs_emulator:
            command = shlex.join(check.command) if check else "ENTRYPOINT + CMD"
            checks.append(Check("runtime start", "ok", f"tried in the image: `{command}` starts the runtime client"))
        handler = check.handler if check else ""
        if handler:
            checks.append(Check("handler", "ok", f"{handler}: tried in the image, its module imports and has it"))
        else:
            checks.append(Check("handler", "WARNING", 'no handler named: add CMD ["app.handler"]'))
        return checks, info
    finally:
        session.close()
