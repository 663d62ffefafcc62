"""Ask a base image itself whether it has the runtime client: a throwaway container, labelled, without network,
removed at once, that imports awslambdaric with the interpreter the image's entrypoint would use.

The doctor does this only when the Dockerfile shows no install of its own: the base may be a company or
project image that has it already, which no reading of the Dockerfile can tell.
"""

from __future__ import annotations

import shlex

from docker.errors import ImageNotFound
from docker.models.containers import Container

from ..engine import hygiene
from ..engine.client import Engine
from ..errors import LambdaContainerError

#: How long the import may take before the answer counts as unknown.
TIMEOUT = 60
#: `sh -c` script: exit 0 if the module imports, 1 if it does not, 127 if there is no Python to ask.
SCRIPT = (
    'for p in {pythons}; do command -v "$p" >/dev/null 2>&1 && exec "$p" -c \'import awslambdaric\'; done; exit 127'
)


class _Probe:
    """The probe's container, in hygiene's registry while it exists: however the doctor ends, it is removed."""

    def __init__(self, engine: Engine, container: Container) -> None:
        self.engine = engine
        self.container = container

    def remove(self) -> None:
        """Remove the container (best effort, idempotent)."""
        hygiene.unregister(self)
        try:
            with self.engine.errors(f"the removal of container {self.container.name}"):
                self.container.remove(force=True)
        except LambdaContainerError:
            pass  # labelled: the next session's orphan sweep removes it


def has_runtime_client(engine: Engine, image: str, python: str | None = None) -> bool | None:
    """True if `image` can import awslambdaric (with `python`, else python3 or python), False if it cannot,
    None when the image cannot tell (no shell, no Python, the engine refused)."""
    pythons = " ".join(shlex.quote(p) for p in ([python] if python else ["python3", "python"]))
    probe = None
    try:
        with engine.errors(f"a probe of image {image}"):
            try:
                created = engine.client.containers.create(
                    image,
                    entrypoint=["/bin/sh", "-c"],
                    command=[SCRIPT.format(pythons=pythons)],
                    labels=hygiene.labels(hygiene.new_session_id()),
                    network_disabled=True,
                    **engine.run_options(),
                )
            except ImageNotFound:
                return None
            probe = _Probe(engine, created)
            hygiene.register(probe)  # before it starts: whatever happens next, it is removed
            created.start()
            status = int(created.wait(timeout=TIMEOUT).get("StatusCode", -1))
    except LambdaContainerError:
        return None
    finally:
        if probe is not None:
            probe.remove()
    return {0: True, 1: False}.get(status)
