"""Local stand-ins for the base images the e2e tests build on, for machines that can't pull them.

`scripts/bootstrap.sh images` runs this with $PYTHON, the interpreter the project is installed in:

    standins.py plan-base --rootfs-recipe ARGS     exit 0: python:3.11-slim is to be (re)built; 3: it is not
    standins.py import-base --rootfs-recipe ARGS ROOTFS_TAR
                                                   python:3.11-slim from a debootstrap rootfs tarball
    standins.py lambda                             public.ecr.aws/lambda/python:3.11 on it, unless up to date

bootstrap.sh makes the rootfs (debootstrap, as root) between the first two; ARGS are its debootstrap arguments,
part of the recipe. A stand-in carries STANDIN_LABEL, the hash of its recipe (the hash part of the plugin's own
content tag): an image under the tag without the label is a real one, pulled or loaded, and is never replaced;
a stand-in whose label matches its recipe is up to date. Environment: BOOTSTRAP_REBUILD=1 rebuilds up-to-date
stand-ins, RIE_BINARY=/path/to/aws-lambda-rie picks the emulator put in the Lambda stand-in.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    import docker
    from docker.errors import DockerException, ImageNotFound
    from docker.models.images import Image

    from pytest_lambda_container.build import platforms
    from pytest_lambda_container.container import emulator as rie
    from pytest_lambda_container.errors import LambdaContainerError
except ImportError as exc:
    sys.exit(f"bootstrap: error: {exc}: install the project first ({sys.executable} -m pip install -e .)")

import host_pip  # this folder's own: sys.path[0] when run as a script
from standin_recipe import BASE_DROP, BASE_LINKS, STANDIN_LABEL, plan, recipe_hash, rewrite_rootfs

BASE_REF = "python:3.11-slim"
LAMBDA_REF = "public.ecr.aws/lambda/python:3.11"
LAMBDA_RECIPE = Path(__file__).resolve().parent / "stand-ins" / "lambda-python"
#: The Lambda stand-in's build context: these files (name: mode), plus the emulator as aws-lambda-rie.
LAMBDA_FILES = {"Dockerfile": 0o644, "lambda-entrypoint.sh": 0o755, "runtime-bootstrap": 0o755}
#: plan-base's answer when the base stand-in is to be left as it is.
KEEP = 3

#: What the import sets in the base stand-in's config: the official image's PATH, LANG and CMD.
BASE_CHANGES = (
    "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
#: The host's CA bundle (so TLS through the same, possibly intercepting, proxy works), and its extra CAs
#: (so update-ca-certificates run inside keeps them).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")


class Failure(Exception):
    """A step failed for a reason worth one line."""


def log(message: str) -> None:
    print(f"bootstrap: {message}", flush=True)


# ---------------------------------------------------------------- the engine's side


def find_image(client: docker.DockerClient, ref: str) -> Image | None:
    try:
        return client.images.get(ref)
    except ImageNotFound:
        return None


def labels_of(image: Image | None) -> dict[str, str] | None:
    return None if image is None else dict(image.labels or {})


def engine_platform(client: docker.DockerClient) -> str:
    return "linux/" + platforms.docker_arch(str(client.info().get("Architecture", "")))


def retire(client: docker.DockerClient, replaced: Image | None) -> None:
    """Remove the stand-in a rebuild replaced, once nothing tags it; one still in use (by a container, or
    under images built on it) stays, and goes with the last of them."""
    if replaced is None:
        return
    try:
        if not client.images.get(replaced.id or "").tags:
            client.images.remove(replaced.id or "")
    except DockerException:
        pass


def write_base_recipe(folder: Path, pip_conf: str) -> Path:
    """The base stand-in's recipe in `folder`: a Dockerfile saying what the import makes of the rootfs (never
    built) and rootfs/, the files it adds. Returns the Dockerfile; the content tag of both, with debootstrap's
    arguments as a build arg, is the stand-in's label."""
    files = {"etc/pip.conf": pip_conf.encode()}
    if HOST_CA_BUNDLE.is_file():
        files[HOST_CA_BUNDLE.relative_to("/").as_posix()] = HOST_CA_BUNDLE.read_bytes()
    for crt in sorted(HOST_EXTRA_CAS.glob("*.crt")):
        files[f"{HOST_EXTRA_CAS.relative_to('/').as_posix()}/{crt.name}"] = crt.read_bytes()
    for name, data in files.items():
        path = folder / "rootfs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
    recipe = folder / "Dockerfile"
    recipe.write_text(
        "# The python:3.11-slim stand-in: scripts/standins.py imports the debootstrap rootfs\n"
        f"# without {json.dumps(BASE_DROP)},\n# with the symlinks {json.dumps(BASE_LINKS)},\n"
        "# and with rootfs/ on top:\nFROM scratch\nCOPY rootfs/ /\n" + "".join(f"{c}\n" for c in BASE_CHANGES)
    )
    recipe.chmod(0o644)
    return recipe


def base_label(client: docker.DockerClient, folder: Path, rootfs_recipe: str) -> str:
    recipe = write_base_recipe(folder, host_pip.image_pip_conf_of_this_host())
    return recipe_hash(recipe, folder, {"debootstrap": rootfs_recipe}, engine_platform(client), ())


def plan_base(client: docker.DockerClient, rootfs_recipe: str, rebuild: bool) -> bool:
    with tempfile.TemporaryDirectory(prefix="pytest-lambda-container-base.") as tmp:
        want = base_label(client, Path(tmp), rootfs_recipe)
    decision = plan(BASE_REF, labels_of(find_image(client, BASE_REF)), want, rebuild)
    log(decision.reason)
    return decision.build


def import_base(client: docker.DockerClient, tarball: Path, rootfs_recipe: str) -> None:
    t0 = time.monotonic()
    replaced = find_image(client, BASE_REF)
    if replaced is not None and not (replaced.labels or {}).get(STANDIN_LABEL):
        raise Failure(f"{BASE_REF} is a real image now: not replacing it")
    # Next to the rootfs tarball: bootstrap.sh put that where there is room for another.
    with tempfile.TemporaryDirectory(prefix="pytest-lambda-container-base.", dir=tarball.parent) as tmp:
        folder = Path(tmp)
        (folder / "recipe").mkdir()
        want = base_label(client, folder / "recipe", rootfs_recipe)
        copied, added = rewrite_rootfs(
            tarball, folder / "image.tar", folder / "recipe" / "rootfs", BASE_LINKS, BASE_DROP
        )
        log(f"importing the rootfs as {BASE_REF} ({copied} entries kept, {added} added)")
        repository, _, tag = BASE_REF.rpartition(":")
        changes = [*BASE_CHANGES, f"LABEL {STANDIN_LABEL}={want}"]
        answer = client.api.import_image_from_file(str(folder / "image.tar"), repository, tag, changes)
    for line in str(answer).splitlines():  # the engine's progress: JSON lines, an error among them
        try:
            error = json.loads(line).get("error")
        except (ValueError, AttributeError):
            continue
        if error:
            raise Failure(f"the import of {BASE_REF} failed: {error}")
    if labels_of(find_image(client, BASE_REF)) != {STANDIN_LABEL: want}:
        raise Failure(f"{BASE_REF} was imported, but the engine shows another image under the tag")
    retire(client, replaced)
    log(f"{BASE_REF} stand-in imported in {time.monotonic() - t0:.0f}s")


def build_lambda(client: docker.DockerClient, rebuild: bool) -> None:
    t0 = time.monotonic()
    platform = engine_platform(client)
    arch = platforms.rie_arch(platform.rpartition("/")[2])
    explicit = os.environ.get("RIE_BINARY")
    try:
        emulator = rie.locate(arch, Path(explicit) if explicit else None, log=log)
    except LambdaContainerError as exc:
        raise Failure(f"could not get aws-lambda-rie for {arch}{' (RIE_BINARY)' if explicit else ''}: {exc}") from None
    base = find_image(client, BASE_REF)
    if base is None:
        raise Failure(f"{BASE_REF} is missing: the Lambda stand-in is built on it")
    with tempfile.TemporaryDirectory(prefix="pytest-lambda-container-ctx.") as tmp:
        context = Path(tmp)
        for name, mode in LAMBDA_FILES.items():
            shutil.copyfile(LAMBDA_RECIPE / name, context / name)
            (context / name).chmod(mode)  # the classic builder's COPY keeps modes from the context
        shutil.copyfile(emulator, context / "aws-lambda-rie")
        (context / "aws-lambda-rie").chmod(0o755)
        want = recipe_hash(context / "Dockerfile", context, {}, platform, (base.id or BASE_REF,))
        replaced = find_image(client, LAMBDA_REF)
        decision = plan(LAMBDA_REF, labels_of(replaced), want, rebuild)
        log(decision.reason)
        if not decision.build:
            return
        log(f"building a {LAMBDA_REF} stand-in ({arch}) from {LAMBDA_RECIPE}")
        build(client, context, LAMBDA_REF, {STANDIN_LABEL: want}, nocache=rebuild)
    retire(client, replaced)
    log(f"{LAMBDA_REF} stand-in built in {time.monotonic() - t0:.0f}s")


def build(client: docker.DockerClient, context: Path, tag: str, labels: dict[str, Any], *, nocache: bool) -> None:
    """The classic builder, as the plugin uses; the host's network, so pip reaches the index as the host does.
    `nocache`: every step run again (a forced rebuild), not taken from the builder's cache."""
    tail: deque[str] = deque(maxlen=40)
    error = ""
    for chunk in client.api.build(
        path=str(context),
        tag=tag,
        labels=labels,
        network_mode="host",
        nocache=nocache,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        for line in str(chunk.get("stream", "")).splitlines():
            tail.append(line)
            if line.startswith("Step "):
                log(f"  {line if len(line) <= 100 else line[:99] + '…'}")
        error = error or str(chunk.get("error", ""))
    if error:
        print(f"--- last lines of the build of {tag} ---", *tail, sep="\n", file=sys.stderr)
        raise Failure(f"the build of the {tag} stand-in failed: {error.strip()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/standins.py", description="Make the base images' stand-ins.")
    steps = parser.add_subparsers(dest="step", required=True)
    recipe_help = "the debootstrap arguments the rootfs is made with (part of the recipe)"
    steps.add_parser("plan-base").add_argument("--rootfs-recipe", required=True, help=recipe_help)
    importer = steps.add_parser("import-base")
    importer.add_argument("--rootfs-recipe", required=True, help=recipe_help)
    importer.add_argument("tarball", type=Path, help="the rootfs, as a tar file")
    steps.add_parser("lambda")
    args = parser.parse_args(argv)
    rebuild = os.environ.get("BOOTSTRAP_REBUILD") == "1"
    try:
        client = docker.from_env()
        try:
            if args.step == "plan-base":
                return 0 if plan_base(client, args.rootfs_recipe, rebuild) else KEEP
            if args.step == "import-base":
                import_base(client, args.tarball, args.rootfs_recipe)
            else:
                build_lambda(client, rebuild)
        finally:
            client.close()
    except (Failure, DockerException, OSError, RuntimeError) as exc:
        print(f"bootstrap: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
