"""Which function a test means: a `FunctionSpec` (what the test asked for) resolved once, against the settings, into
a `ResolvedFunction` (what every target runs: image or build, handler, environment, timeout, memory)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .environment import environment as lambda_environment
from .environment import function_environment
from .values import parse_timeout

if TYPE_CHECKING:
    from .settings import Settings

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FunctionSpec:
    """Which function to run — the keyword arguments of `lambda_container_factory` and `LambdaSession.container`.

    What is not given comes from the settings: `image` (an existing image) or `dockerfile` + `context` +
    `build_args` (to build), the `handler` overriding the image's CMD, `env` added to the settings' environment,
    and the function's `timeout` in seconds.
    """

    image: str | None = None
    dockerfile: Path | None = None
    context: Path | None = None
    handler: str | None = None
    env: Pairs = ()
    timeout: float | None = None
    build_args: Pairs = ()

    @classmethod
    def of(cls, root: Path, **fields: Any) -> FunctionSpec:
        """A spec from keyword arguments: paths relative to `root`, mappings frozen; an unknown name is refused."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise TypeError(f"unknown argument(s) {', '.join(unknown)}; a function takes {', '.join(known)}")
        for name in ("dockerfile", "context"):
            if fields.get(name) is not None:
                fields[name] = (root / fields[name]).resolve()
        if fields.get("timeout") is not None:
            fields["timeout"] = parse_timeout(fields["timeout"], "lambda_container_factory(timeout=...)")
        for name in ("env", "build_args"):
            value = fields.get(name)
            if isinstance(value, Mapping):
                fields[name] = tuple(sorted(value.items()))
        return cls(**{k: v for k, v in fields.items() if v is not None})

    def names_another_build(self, settings: Settings) -> bool:
        """Whether this spec names an image, or a build but the configured one (the settings' Dockerfile and
        context, no build args of its own): `--lambda-image` replaces only the function that does not."""
        return not (
            self.image is None
            and self.dockerfile in (None, settings.dockerfile_path.resolve())
            and self.context in (None, settings.context_path.resolve())
            and not self.build_args
        )

    def resolve(self, settings: Settings) -> ResolvedFunction:
        """This spec with the settings filling what it leaves open: the one meaning every target gives it."""
        dockerfile = (self.dockerfile or settings.dockerfile_path).resolve()
        configured = dockerfile == settings.dockerfile_path.resolve()
        # Another Dockerfile builds from its own folder, not from the configured context.
        context = self.context or (settings.context_path if configured else dockerfile.parent)
        return ResolvedFunction(
            image=self.image or (None if self.names_another_build(settings) else settings.image),
            dockerfile=dockerfile,
            context=context.resolve(),
            build_args=tuple(sorted({**settings.build_args, **dict(self.build_args)}.items())),
            handler=self.handler or settings.handler,
            env=tuple(sorted({**settings.env, **dict(self.env)}.items())),
            timeout=self.timeout or settings.timeout,
            memory=settings.memory,
            function_name=settings.function_name,
            region=settings.region,
        )


@dataclass(frozen=True)
class ResolvedFunction:
    """One function, fully told: the key of one running function on any target.

    `image` is an existing image to run (nothing built); else `dockerfile` is built in `context` with `build_args`.
    `handler` None keeps the image's CMD; `env` is the user's variables (settings' and spec's), over Lambda's own.
    """

    image: str | None
    dockerfile: Path
    context: Path
    build_args: Pairs
    handler: str | None
    env: Pairs
    timeout: float
    memory: int
    function_name: str
    region: str

    def environment(
        self, *, instance: str | None = None, task_root: str | None = None, handler: str | None = None
    ) -> dict[str, str]:
        """The function's whole environment, as each new execution environment (`instance`: its log stream's id)
        gets it: Lambda's reserved variables, the timeout and memory, the user's variables over them. `task_root`
        and `handler`: where the code is and which handler runs, for a runtime that is not the image's (in-process);
        a container's image and emulator set them."""
        return function_environment(
            lambda_environment(self.function_name, self.region, instance=instance),
            timeout=self.timeout,
            memory=self.memory,
            env=dict(self.env),
            task_root=task_root,
            handler=handler,
        )
