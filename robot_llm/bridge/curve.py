"""CURVE authentication and encryption for the bridge (ZeroMQ's CurveZMQ).

A key folder holds the server's key pair and, under `clients/`, the public keys of the clients
allowed to connect:

    DIR/server.key          server public key   (clients need a copy)
    DIR/server.key_secret   server key pair     (stays on the server)
    DIR/client.key          client public key
    DIR/client.key_secret   client key pair     (stays on the client)
    DIR/clients/*.key       public keys of allowed clients

A client whose key is not in `clients/` (or that does not use CURVE) fails the handshake: it
reaches none of the server's sockets, so it neither commands the arm nor reads its state.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from robot_llm.errors import InputError


class CurveKeyError(InputError):
    """A key folder that lacks a key or holds an unreadable one."""


@dataclass(frozen=True)
class ClientKeys:
    public: bytes
    secret: bytes
    server_public: bytes


def keygen(directory: str | Path, clients: tuple[str, ...] = ("client",)) -> list[Path]:
    """Write a server key pair and client key pairs (allowed in clients/); the written files."""
    if not zmq.has("curve"):
        raise CurveKeyError("this libzmq was built without CURVE support")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    allowed = d / "clients"
    allowed.mkdir(exist_ok=True)
    written: list[Path] = []
    for name in ("server", *clients):
        if (d / f"{name}.key_secret").exists():
            raise CurveKeyError(f"{d / (name + '.key_secret')} exists; keys are never overwritten")
        public, secret = zmq.auth.create_certificates(d, name)
        os.chmod(secret, 0o600)
        written += [Path(public), Path(secret)]
        if name != "server":
            written.append(Path(shutil.copy(public, allowed / f"{name}.key")))
    return written


def _load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise CurveKeyError(f"missing key file {path}")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except Exception as err:  # zmq.auth raises several kinds on a bad file
        raise CurveKeyError(f"{path}: not a CURVE key file ({err})") from None
    if secret and secret_key is None:
        raise CurveKeyError(f"{path} holds no secret key")
    return public, secret_key


def server_keys(directory: str | Path) -> tuple[bytes, bytes]:
    public, secret = _load(Path(directory) / "server.key_secret", True)
    assert secret is not None
    return public, secret


def client_keys(directory: str | Path, name: str = "client") -> ClientKeys:
    d = Path(directory)
    public, secret = _load(d / f"{name}.key_secret", True)
    server_public, _ = _load(d / "server.key", False)
    assert secret is not None
    return ClientKeys(public, secret, server_public)


def start_authenticator(
    ctx: zmq.Context[zmq.Socket[bytes]], directory: str | Path
) -> ThreadAuthenticator:
    """A ZAP handler that admits exactly the client keys in DIR/clients."""
    allowed = Path(directory) / "clients"
    if not allowed.is_dir():
        raise CurveKeyError(f"missing folder of allowed client keys {allowed}")
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(allowed))
    return auth


def secure_server(sock: zmq.Socket[bytes], keys: tuple[bytes, bytes]) -> None:
    sock.curve_publickey, sock.curve_secretkey = keys
    sock.curve_server = True


def secure_client(sock: zmq.Socket[bytes], keys: ClientKeys) -> None:
    sock.curve_publickey = keys.public
    sock.curve_secretkey = keys.secret
    sock.curve_serverkey = keys.server_public
