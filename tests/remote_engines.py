"""The local engine reached as a remote one, for the e2e tests of issue 18: over tcp (a proxy to its unix socket),
over TLS with client-certificate verification (as dockerd's --tlsverify), and over ssh (a throwaway sshd)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Imported here, at collection: pytester's in-process runs drop the modules first imported during them, and
# cryptography's classes would then differ from the ones its objects were made with.
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SOCKET = "/var/run/docker.sock"


class EngineProxy:
    """A listener on 127.0.0.1 that forwards every connection to the engine's unix socket: an engine reached over
    tcp with no second dockerd. With `tls`, it speaks TLS and asks for a client certificate as that context says
    (dockerd --tlsverify: CERT_REQUIRED against its --tlscacert)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> EngineProxy:
        self._thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _close(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(SOCKET)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except asyncio.CancelledError:  # the proxy closes: a connection still open ends with it
            pass
        finally:
            up_writer.close()
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


@dataclass(frozen=True)
class Pems:
    """PEM files: a CA's certificate, and a certificate and key it signed."""

    ca: Path
    cert: Path
    key: Path


def certificates(folder: Path) -> tuple[Pems, Pems, Pems]:
    """(server, client, stranger) as Docker's TLS guide makes them (https://docs.docker.com/engine/security/protect-
    access/): one CA signing the engine's certificate (for 127.0.0.1) and the client's; `stranger` is a client
    certificate of another CA, with that CA beside it."""
    ca_key, ca_cert = _authority("engine CA")
    server = _issue(folder / "server", ca_key, ca_cert, "engine", server=True)
    client = _issue(folder / "client", ca_key, ca_cert, "client", server=False)
    other_key, other_cert = _authority("another CA")
    stranger = _issue(folder / "stranger", other_key, other_cert, "stranger", server=False)
    return server, client, stranger


def server_context(pems: Pems) -> ssl.SSLContext:
    """What dockerd --tlsverify --tlscacert=ca.pem --tlscert=cert.pem --tlskey=key.pem listens with."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pems.ca))
    context.load_cert_chain(str(pems.cert), str(pems.key))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _authority(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue(
    folder: Path, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, name: str, *, server: bool
) -> Pems:
    key = ec.generate_private_key(ec.SECP256R1())
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(name), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    folder.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "cert.pem").write_bytes(cert.public_bytes(pem))
    private = serialization.PrivateFormat.TraditionalOpenSSL
    (folder / "key.pem").write_bytes(key.private_bytes(pem, private, serialization.NoEncryption()))
    return Pems(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


PRIVSEP = "/run/sshd"
#: A host name only the ssh config the tests write knows, as users name their build hosts in ~/.ssh/config.
ALIAS = "engine-host"
SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/sbin/sshd") if os.path.exists(p)), None)


def sshd_missing() -> str | None:
    """Why a throwaway sshd cannot run here, or None."""
    if SSHD is None:
        return "sshd is not installed (apt-get install openssh-server; scripts/bootstrap.sh ssh)"
    if shutil.which("docker") is None:
        return "the docker CLI is not installed: an ssh:// engine runs `docker system dial-stdio` on its host"
    if not os.path.isdir(PRIVSEP) and os.geteuid() != 0:
        return f"sshd needs {PRIVSEP}, which only root can make here"
    return None


class Sshd:
    """A throwaway sshd on 127.0.0.1 with a host key and a client key of its own, letting only that key in as this
    user; and an `ssh` on PATH that uses its own config (OpenSSH reads ~/.ssh of the passwd entry, not $HOME).
    Through it `ssh://USER@127.0.0.1:PORT` reaches the engine as the docker CLI does (`docker system dial-stdio`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.user = os.environ.get("USER") or _whoami()
        self.port = _free_port()
        self.bin = folder / "bin"

    def __enter__(self) -> Sshd:
        assert SSHD is not None
        # sshd's privilege separation folder, made at service start where it runs as a service (Debian's tmpfiles).
        os.makedirs(PRIVSEP, mode=0o755, exist_ok=True)
        keys = self.folder / "keys"
        keys.mkdir(parents=True)
        for name in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
        (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
        (keys / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {(keys / 'host.pub').read_text()}")
        config = self.folder / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1:{self.port}\nHostKey {keys / 'host'}\nPidFile {self.folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
            "AllowTcpForwarding no\nX11Forwarding no\n"
        )
        client = self.folder / "ssh_config"
        client.write_text(
            f"Host 127.0.0.1 {ALIAS}\n  HostName 127.0.0.1\n  IdentityFile {keys / 'client'}\n  IdentitiesOnly yes\n"
            "  BatchMode yes\n"
            f"  UserKnownHostsFile {keys / 'known_hosts'}\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
        )
        self.bin.mkdir()
        wrapper = self.bin / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {client} "$@"\n')
        wrapper.chmod(0o755)
        # -D: in the foreground, a child of the test, ended by it; -E: its log in a file, one line per login.
        self.log = self.folder / "sshd.log"
        self._process = subprocess.Popen([SSHD, "-D", "-E", str(self.log), "-f", str(config)], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError(f"sshd did not start: {self.log.read_text() if self.log.exists() else ''}")
            time.sleep(0.05)
        return self

    def logins(self) -> int:
        """How many ssh connections were let in: one per ssh process the client started."""
        return self.log.read_text().count("Accepted publickey for ")

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    @property
    def address(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @property
    def alias_address(self) -> str:
        """The same engine through a host name only the ssh config knows (`Host ALIAS` / `HostName 127.0.0.1`)."""
        return f"ssh://{self.user}@{ALIAS}:{self.port}"


def _whoami() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
