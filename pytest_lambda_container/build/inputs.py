"""What a build needs before anything talks to Docker, checked without importing the build machinery (the settings
check it at every pytest start)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError


def check_build_inputs(dockerfile: Path, context: Path) -> None:
    """The Dockerfile and context must exist before anything talks to Docker."""
    if not dockerfile.is_file():
        raise ConfigError(
            f"no Dockerfile at {dockerfile}; point --lambda-dockerfile (ini lambda_dockerfile) at your "
            "function's Dockerfile, or test a built image with --lambda-image"
        )
    if not context.is_dir():
        raise ConfigError(f"build context {context} is not a directory; fix --lambda-context (ini lambda_context)")
