"""Docker CLI contexts as `docker context create` stores them, for the tests of engine/endpoint.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path


def make_context(
    config: Path, name: str, host: str, *, tls: tuple[str, ...] | Mapping[str, str] = (), skip_verify: bool = False
) -> None:
    """A context as `docker context create NAME --docker host=HOST,ca=...,cert=...,key=...` stores it (checked
    against docker CLI 28's store). `tls`: the PEM files' names (placeholder contents), or names and contents."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoints = {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": endpoints}))
    if tls:
        folder = config / "contexts" / "tls" / digest / "docker"
        folder.mkdir(parents=True)
        contents = tls if isinstance(tls, Mapping) else dict.fromkeys(tls, "-----BEGIN CERTIFICATE-----\n")
        for pem, text in contents.items():
            (folder / pem).write_text(text)
