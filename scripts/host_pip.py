"""The pip settings the stand-in images get: the host's own index, proxy and timeout, as `pip config list` and
PIP_* variables give them (pip's public command line, never its internals), minus what exists only on the host."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Mapping

#: Where the images keep the CA bundle the host's is copied to.
IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

#: pip settings carried into the images, under every name pip accepts for them.
PIP_NAMES = {
    "index-url": "index-url",
    "pypi-url": "index-url",
    "extra-index-url": "extra-index-url",
    "trusted-host": "trusted-host",
    "proxy": "proxy",
    "timeout": "timeout",
    "default-timeout": "timeout",
}
#: The `pip config list` sections `pip install` reads, weakest first (pip lists its PIP_* variables as :env:).
PIP_SECTIONS = ("global", "install", ":env:")


def host_pip_settings(listing: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The host's effective `pip install` settings among PIP_NAMES, from `pip config list` output
    (`section.name='value'` lines) and PIP_* variables (older pips don't list them), stronger ones last."""
    ranked: list[tuple[int, str, str]] = []
    for line in listing.splitlines():
        key, sep, raw = line.partition("=")
        section, _, name = key.strip().rpartition(".")
        if not sep or section not in PIP_SECTIONS:
            continue
        try:
            value = ast.literal_eval(raw.strip())
        except (SyntaxError, ValueError):
            value = raw.strip()
        ranked.append((PIP_SECTIONS.index(section), name, str(value)))
    ranked += [(len(PIP_SECTIONS), k[4:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("PIP_")]
    settings: dict[str, str] = {}
    for _, name, value in sorted(ranked, key=lambda item: item[0]):
        canonical = PIP_NAMES.get(name.strip().lower().lstrip("-").replace("_", "-"))
        if canonical and value.strip():
            settings[canonical] = value.strip()
    return settings


def _remote(url: str) -> bool:
    return url.split(":", 1)[0].lower() in ("http", "https")


def image_pip_conf(settings: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The pip.conf of the images: the host's index settings minus what exists only on the host (file://
    indexes), its proxy (pip's, else $https_proxy), its timeout, and the host's CA bundle copied in."""
    lines = [
        "# Written by pytest-lambda-container's scripts/standins.py from the host's pip settings.",
        "[global]",
        f"cert = {IMAGE_CA_BUNDLE}",
    ]
    index = settings.get("index-url", "")
    if _remote(index):
        lines.append(f"index-url = {index}")
    extra = [url for url in settings.get("extra-index-url", "").split() if _remote(url)]
    if extra:
        lines.append("extra-index-url = " + " ".join(extra))
    trusted = settings.get("trusted-host", "").split()
    if trusted:
        lines.append("trusted-host = " + " ".join(trusted))
    try:
        lines.append(f"timeout = {int(float(settings['timeout']))}")
    except (KeyError, ValueError):
        pass
    proxy = settings.get("proxy") or environ.get("https_proxy") or environ.get("HTTPS_PROXY")
    if proxy:
        lines.append(f"proxy = {proxy}")
    return "\n".join(lines) + "\n"


def image_pip_conf_of_this_host() -> str:
    """The images' pip.conf, from this host's pip settings; `RuntimeError` when pip cannot say them."""
    command = [sys.executable, "-m", "pip", "config", "list"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"could not read the host's pip settings: `{' '.join(command)}`: {proc.stderr.strip()}")
    return image_pip_conf(host_pip_settings(proc.stdout, os.environ), os.environ)
