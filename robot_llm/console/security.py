"""Who may use the console: the bind address, the token, and the Host and Origin checks.

The console binds loopback by default. Any other bind needs a token; one given on the command
line (or in ROBOT_LLM_CONSOLE_TOKEN) is used, else one is generated and printed once. The token
travels in the `Authorization: Bearer` header of HTTP requests and in the socket's hello, never
in a cookie, so a browser never sends it on its own. The Host check keeps a DNS name that
resolves to 127.0.0.1 (DNS rebinding) from reaching the console, and the Origin check keeps any
other site's page from opening a socket to it, token or not.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from robot_llm.errors import InputError

DEFAULT_BIND: Final = "127.0.0.1:8080"
TOKEN_ENV: Final = "ROBOT_LLM_CONSOLE_TOKEN"
MIN_TOKEN_LENGTH: Final = 16


class ConsoleInputError(InputError):
    """A bad console option (bind address, token)."""


def parse_bind(bind: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [::1]:PORT) to (host, port); ConsoleInputError names what is wrong."""
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConsoleInputError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Access:
    """The console's access rules: its own host names and the token (None: none required)."""

    host: str
    port: int
    token: str | None

    @classmethod
    def for_bind(cls, bind: str, token: str | None) -> Access:
        """Loopback binds need no token (one given is still required); any other bind needs
        one, generated here when not given."""
        host, port = parse_bind(bind)
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ConsoleInputError(f"--token: at least {MIN_TOKEN_LENGTH} characters")
        if token is None and not is_loopback(host):
            token = new_token()
        return cls(host, port, token)

    def token_ok(self, given: str | None) -> bool:
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def bearer_ok(self, authorization: str | None) -> bool:
        scheme, _, value = (authorization or "").partition(" ")
        return self.token_ok(value.strip() if scheme.lower() == "bearer" else None)

    def host_ok(self, host_header: str | None) -> bool:
        """The Host header names this console: its bind host, or loopback when bound there or
        on every interface."""
        if not host_header:
            return False
        host = urlsplit(f"//{host_header}").hostname or ""
        if host == self.host.lower():
            return True
        if self.host in ("0.0.0.0", "::"):
            return True  # reachable under any of the machine's names; the token guards it
        return is_loopback(self.host) and is_loopback(host)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """A request from a page: its Origin must be this console's own (scheme://Host)."""
        if origin is None:
            return True  # not from a browser page (a script, curl)
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == (host_header or "")
