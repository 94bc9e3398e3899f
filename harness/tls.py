"""Certificates for TLS tests, generated on the fly with ``cryptography`` (never checked in).

:func:`make_tls_files` writes a small PKI into a directory: a CA, a server certificate for
``localhost`` and ``127.0.0.1`` signed by it, a client certificate signed by it (mTLS), and a
second, unrelated CA with its own client certificate (what a peer that must be refused presents)::

    tls = make_tls_files(tmp_path / "pki")
    env = {"OTLP_TLS_CERT_FILE": str(tls.server_cert), "OTLP_TLS_KEY_FILE": str(tls.server_key),
           "OTLP_TLS_CLIENT_CA_FILE": str(tls.ca_cert)}

Keys are ECDSA P-256 (fast to generate), PEM, unencrypted; certificates are valid for one day.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TLSFiles", "make_tls_files"]

SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class TLSFiles:
    """Paths of the generated PEM files.

    Attributes:
        ca_cert: the CA that signed the server and client certificates.
        server_cert: server certificate (``localhost``, ``127.0.0.1``; serverAuth).
        server_key: its key.
        client_cert: client certificate (CN ``otel-ml-client``; clientAuth) signed by ``ca_cert``.
        client_key: its key.
        rogue_ca_cert: an unrelated CA (trusting it must not make our server trusted).
        rogue_client_cert: a client certificate signed by ``rogue_ca_cert`` (must be refused).
        rogue_client_key: its key.

    """

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca_cert: Path
    rogue_client_cert: Path
    rogue_client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "otel-ml-logging tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


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


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    common_name: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    usage: x509.ObjectIdentifier,
    san: x509.SubjectAlternativeName | None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _key()
    builder = (
        _builder(_name(common_name), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path = path.with_suffix(".key")
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)


def make_tls_files(directory: Path) -> TLSFiles:
    """Generate the CA, server and client certificates into ``directory`` (created); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca("otel-ml-logging test CA")
    rogue_ca = _ca("rogue test CA")
    san = x509.SubjectAlternativeName(
        [x509.DNSName(name) for name in SERVER_NAMES] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    )
    server = _leaf("localhost", ca, ExtendedKeyUsageOID.SERVER_AUTH, san)
    client = _leaf("otel-ml-client", ca, ExtendedKeyUsageOID.CLIENT_AUTH, None)
    rogue_client = _leaf("rogue-client", rogue_ca, ExtendedKeyUsageOID.CLIENT_AUTH, None)

    files = TLSFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        rogue_ca_cert=directory / "rogue-ca.crt",
        rogue_client_cert=directory / "rogue-client.crt",
        rogue_client_key=directory / "rogue-client.key",
    )
    _write(files.ca_cert, ca[0])
    _write(files.server_cert, *server)
    _write(files.client_cert, *client)
    _write(files.rogue_ca_cert, rogue_ca[0])
    _write(files.rogue_client_cert, *rogue_client)
    return files
