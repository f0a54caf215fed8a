"""Real SMTP servers (aiosmtpd on loopback: plain, STARTTLS with a self-signed certificate, implicit TLS,
with and without authentication) and a ledger filled with a realistic history."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import sqlite3
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from index.ledger import Ledger
from domain.settings import ReportSettings
from tests.report.fakes import populate
from tests.ports import free_port

USER, PASSWORD = "scout", "s3cret-Pa55word"


@dataclass
class Sink:
    """Keeps every message the server accepted; `refuse` makes DATA fail with a permanent error."""

    messages: list = field(default_factory=list)
    refuse: bool = False
    refuse_rcpt: set = field(default_factory=set)
    attempts: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.refuse:
            return "554 5.7.1 Message rejected by policy"
        self.messages.append(envelope)
        return "250 2.0.0 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, generated here with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def trust(certificate, monkeypatch):
    """Make the default SSL context (what the sender uses) trust the test certificate, as a site CA would."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def smtp_server():
    """Start servers on demand: `smtp_server(kind)` with kind plain | starttls | ssl; returns (sink, port)."""
    controllers: list[Controller] = []

    def start(kind: str = "plain", *, certificate=None, auth: bool = False) -> tuple[Sink, int]:
        sink, port = Sink(), free_port()
        kwargs: dict = {}
        if kind == "starttls":
            kwargs.update(tls_context=_server_context(certificate), require_starttls=True)
        elif kind == "ssl":
            kwargs.update(ssl_context=_server_context(certificate), server_hostname="127.0.0.1")
        if auth:
            kwargs.update(authenticator=_authenticate, auth_required=True)
        controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
        if kind == "ssl":
            # The readiness probe must trust the certificate too.
            controller.ssl_context = _server_context(certificate)
        controller.start()
        controllers.append(controller)
        return sink, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="session")
def populated_ledger_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    populate(Ledger(path))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file: safe to copy
    return path


@pytest.fixture
def ledger(tmp_path, populated_ledger_file) -> Ledger:
    """A fresh copy of the populated ledger for each test (populating it once is what takes the time)."""
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(populated_ledger_file, path)
    return Ledger(path)


@pytest.fixture
def settings(tmp_path) -> ReportSettings:
    return ReportSettings(
        outbox=tmp_path / "outbox",
        recipients=["scout@example.jp", "分析担当 <analyst@example.jp>"],
        sender="dualscout@example.jp",
        base_url="https://scout.example.jp",
        send_retries=2,
        smtp_timeout=5,
    )


def configured(settings: ReportSettings, **update) -> ReportSettings:
    """A validated copy (model_copy would keep a plain str where a SecretStr belongs)."""
    return ReportSettings.model_validate({**settings.model_dump(), **update})
