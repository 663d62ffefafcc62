"""An engine over TLS (dockerd --tlsverify, a context's ca/cert/key, DOCKER_TLS_VERIFY + DOCKER_CERT_PATH): its CA
kept against requests' environment, and, when it does not answer, why, in words that say which file to fix.

Docker's TLS set-up: https://docs.docker.com/engine/security/protect-access/ (the engine trusts client certificates
its --tlscacert signed; the client trusts the engine's certificate through ca.pem).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

#: How long the diagnosis may take: it runs once, after the engine already did not answer.
PROBE_TIMEOUT = 5.0


def keep_engine_ca(api: Any) -> None:
    """Verify the engine with the CA its endpoint gives, whatever REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE say.

    requests lets those variables win over a session's own `verify` (requests issue 3829), and docker-py sets the
    engine's CA as the session's: with either variable set, as many machines have it, the engine's certificate was
    checked against the system's bundle and failed. The docker CLI reads neither."""
    if not str(getattr(api, "base_url", "")).startswith("https://"):
        return
    merge = api.merge_environment_settings

    def engine_verify(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings: dict[str, Any] = merge(url, proxies, stream, verify, cert)
        settings["verify"] = api.verify if verify is None else verify
        return settings

    api.merge_environment_settings = engine_verify


def diagnose(api: Any, where: str) -> str | None:
    """Why the engine behind `api` (a docker SDK APIClient whose first request failed) refuses this client over
    TLS, or speaks TLS to a client without it; None when TLS is not the trouble. `where` says where this client's
    TLS material comes from (a context, DOCKER_CERT_PATH), for the fix."""
    base = str(getattr(api, "base_url", ""))
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.hostname == "localunixsocket":
        return None
    host, port = parts.hostname, parts.port or (2376 if parts.scheme == "https" else 2375)
    if parts.scheme == "http":
        if not _speaks_tls(host, port):
            return None
        return (
            f"speaks TLS, and {where} gives no TLS material: give it the engine's ca.pem, and the cert.pem and "
            "key.pem its CA signed"
        )
    verify, cert = getattr(api, "verify", True), getattr(api, "cert", None)
    try:
        context = _client_context(verify, cert)
    except ssl.SSLError as exc:
        return f"cannot use the client certificate {_cert(cert)} of {where}: {_reason(exc)} (is key.pem its key?)"
    except OSError as exc:
        return f"cannot read the TLS material of {where}: {exc}"
    try:
        raw = socket.create_connection((host, port), timeout=PROBE_TIMEOUT)
    except OSError:
        return None  # nothing there at all: the usual message says so
    try:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            # TLS 1.3 settles the client certificate after the handshake: the refusal comes with the first reply.
            tls.sendall(f"GET /_ping HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            if tls.recv(64):
                return None
            raise ConnectionResetError("the engine closed the connection")
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or _reason(exc)
        if "mismatch" in message.lower():
            return (
                f"has a certificate not made out to {host} ({message}): the engine's certificate must name the "
                "address it is reached at (a subjectAltName of dockerd's --tlscert)"
            )
        return (
            f"has a certificate that is not signed by the CA in {verify} ({message}): {where} must have as ca.pem "
            "the CA that signed the engine's certificate"
        )
    except OSError as exc:  # ssl.SSLError included: the engine's alert
        return _refused(exc, cert, where)
    finally:
        raw.close()


def _refused(exc: BaseException, cert: Any, where: str) -> str:
    if cert is None:
        return (
            f"asks for a client certificate (dockerd --tlsverify) and {where} has none ({_reason(exc)}): give it "
            "cert.pem and key.pem signed by the engine's CA"
        )
    return (
        f"refused this client's certificate {_cert(cert)} ({_reason(exc)}): the engine accepts only certificates "
        f"its CA signed (dockerd --tlscacert); give {where} a cert.pem and key.pem that CA signed"
    )


def _client_context(verify: Any, cert: Any) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        context.load_verify_locations(verify)
    else:
        context.load_default_certs()
    if cert:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        context.load_cert_chain(certfile, keyfile)
    return context


def _speaks_tls(host: str, port: int) -> bool:
    """Whether a TLS handshake succeeds at host:port (no certificate checked: only whether it is TLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except ssl.SSLError as exc:  # a TLS alert (a client certificate asked for) is TLS; a plain reply is not
        return "ALERT" in str(exc.reason or "").upper()
    except OSError:
        return False


def _cert(cert: Any) -> str:
    return str(cert[0] if isinstance(cert, tuple) else cert)


def _reason(exc: BaseException) -> str:
    """An ssl error's reason in words (TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.lower().replace("_", " ")
    return str(exc) or type(exc).__name__
