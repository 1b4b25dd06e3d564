"""Bridge addresses: one base address names all four channels.

For tcp://HOST:PORT the channels sit on consecutive ports: RPC on PORT, commands on PORT+1,
state on PORT+2, camera frames on PORT+3. For ipc://PATH they are PATH, PATH-cmd, PATH-state and
PATH-camera. The hello's reply carries the endpoints too.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Final

from robot_llm.errors import InputError

CHANNELS: Final = ("rpc", "command", "state", "camera")
DEFAULT_ADDRESS: Final = "tcp://127.0.0.1:5555"
_TCP = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-*]+):(?P<port>\d+)$")
_IPC_SUFFIX: Final = {"rpc": "", "command": "-cmd", "state": "-state", "camera": "-camera"}


class AddressError(InputError):
    """A bridge address that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class Endpoints:
    """The four channel endpoints of one bridge, derived from its base address."""

    rpc: str
    command: str
    state: str
    camera: str

    @classmethod
    def from_address(cls, address: str) -> Endpoints:
        m = _TCP.match(address)
        if m:
            host, port = m["host"], int(m["port"])
            if not 0 <= port <= 65532:
                raise AddressError(f"{address}: the base port must leave room for 3 more ports")
            if port == 0:
                return cls(*(f"tcp://{host}:0" for _ in CHANNELS))
            return cls(*(f"tcp://{host}:{port + i}" for i in range(len(CHANNELS))))
        if address.startswith("ipc://") and len(address) > len("ipc://"):
            return cls(*(address + _IPC_SUFFIX[c] for c in CHANNELS))
        raise AddressError(
            f"{address!r} is not a bridge address; use tcp://HOST:PORT or ipc://PATH"
        )

    @property
    def address(self) -> str:
        """The base address (the RPC endpoint)."""
        return self.rpc

    def as_dict(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in CHANNELS}


def is_local(address: str) -> bool:
    """Whether a bind address reaches only this machine: IPC, or TCP on a loopback host."""
    if address.startswith("ipc://"):
        return True
    m = _TCP.match(address)
    if m is None:
        return False
    host = m["host"].strip("[]")
    return host == "localhost" or host == "::1" or host.startswith("127.")


def connect_address(address: str) -> str:
    """A bound address as clients reach it: a wildcard host becomes loopback."""
    m = _TCP.match(address)
    if m and m["host"] in ("*", "0.0.0.0"):
        return f"tcp://127.0.0.1:{m['port']}"
    return address


def is_port_zero(address: str) -> bool:
    m = _TCP.match(address)
    return m is not None and int(m["port"]) == 0


def with_random_port(address: str, rng: random.Random) -> str:
    """The tcp address with port 0 replaced by a random base port (for "any free ports")."""
    m = _TCP.match(address)
    if not m:
        raise AddressError(f"{address!r} is not a tcp address")
    return f"tcp://{m['host']}:{rng.randrange(20000, 60000, 4)}"
