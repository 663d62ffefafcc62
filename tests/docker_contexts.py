"""Docker CLI contexts as `docker context create` stores them, for the tests of engine/endpoint.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def make_context(config: Path, name: str, host: str, *, tls: tuple[str, ...] = (), skip_verify: bool = False) -> None:
    """A context as `docker context create NAME --docker host=HOST,ca=...,cert=...,key=...` stores it."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoints = {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": endpoints}))
    if tls:
        folder = config / "contexts" / "tls" / digest / "docker"
        folder.mkdir(parents=True)
        for pem in tls:
            (folder / pem).write_text("-----BEGIN CERTIFICATE-----\n")
