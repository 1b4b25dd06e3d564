"""The bridge wire protocol: version, message codec, field checks and arrays.

Every message is one msgpack map in one ZeroMQ frame, with at least "type" (str), "seq" (int,
counting up per sender and channel) and "t" (float, UNIX seconds at the sender). Arrays travel as
maps {"dtype", "shape", "data"}: a little-endian numpy dtype string, the shape, and the raw
C-order bytes. Nothing is pickled. The full specification is docs/bridge-protocol.md.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from typing import Final

import msgpack
import numpy as np

from robot_llm.errors import InputError

PROTOCOL_VERSION: Final = (1, 0)
MAX_REQUEST_BYTES: Final = 64 * 1024  # RPC requests and commands; larger ones get an error reply
MAX_FRAME_BYTES: Final = 64 * 1024 * 1024  # camera frames, as a client accepts them
MAX_ARRAY_DIMS: Final = 8
# Numeric dtypes only, little-endian or single byte: no objects, strings or structured records.
ARRAY_DTYPES: Final = frozenset(
    {"|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"}
)

Message = dict[str, object]
# In the `control` error for a command whose lease is bound to another command connection.
LEASE_ELSEWHERE: Final = "bound to another command connection"


class ProtocolError(InputError):
    """A message that breaks the protocol; `code` names the kind, the message says where."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class VersionMismatch(ProtocolError):
    """The two ends speak different major versions of the protocol."""

    def __init__(self, message: str) -> None:
        super().__init__("version", message)


# -- codec ----------------------------------------------------------------------------------------
def pack(message: Mapping[str, object]) -> bytes:
    """One message as msgpack bytes (binary strings stay bytes, text stays str)."""
    return msgpack.packb(message, use_bin_type=True)


def _refuse_ext(code: int, data: bytes) -> object:
    raise ProtocolError("malformed", f"msgpack extension type {code} is not used by the protocol")


def _holds_timestamp(obj: object) -> bool:
    """Whether a decoded message holds a msgpack Timestamp anywhere (keys are str by then).

    msgpack decodes its own extension type -1 without calling `ext_hook`, so the refusal of
    extension types needs this second look."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, msgpack.Timestamp):
            return True
    return False


def unpack(data: bytes, limit: int = MAX_REQUEST_BYTES) -> Message:
    """Decode one message; ProtocolError when it is too large, not msgpack or not a typed map."""
    if len(data) > limit:
        raise ProtocolError("too_large", f"message of {len(data)} bytes exceeds {limit} bytes")
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            ext_hook=_refuse_ext,
            timestamp=0,
        )
    except ProtocolError:
        raise
    except Exception as err:  # msgpack raises many kinds on garbage; all mean "not a message"
        raise ProtocolError("malformed", f"not a msgpack message: {type(err).__name__}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", f"a message must be a map, got {type(obj).__name__}")
    if _holds_timestamp(obj):
        raise ProtocolError("malformed", "msgpack extension type -1 is not used by the protocol")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("malformed", "a message needs a string field 'type'")
    return obj


class Stamper:
    """Stamps outgoing messages of one channel with a sequence number and the send time."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self, kind: str, **fields: object) -> Message:
        return {"type": kind, "seq": next(self._counter), "t": time.time(), **fields}

    def mark(self, message: Message) -> Message:
        """Stamp a message that already has its type and fields (in place)."""
        message["seq"] = next(self._counter)
        message["t"] = time.time()
        return message


# -- versions -------------------------------------------------------------------------------------
def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse_version(value: object, who: str) -> tuple[int, int]:
    """A [major, minor] pair; VersionMismatch when the major differs from ours."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise ProtocolError("bad_field", f"{who}: 'version' must be [major, minor] integers")
    theirs = (int(value[0]), int(value[1]))
    if theirs[0] != PROTOCOL_VERSION[0]:
        raise VersionMismatch(
            f"{who} speaks bridge protocol {version_text(theirs)} but this end speaks "
            f"{version_text(PROTOCOL_VERSION)}; major versions differ, upgrade the older side"
        )
    return theirs


# -- fields ---------------------------------------------------------------------------------------
class Fields:
    """Typed reads of one message's fields; every failure is a ProtocolError naming the field.

    A `default` of None makes the field required. A field that is present must have its type:
    `null` is never read as "absent" (fields that may be null are read with `message.get`).
    """

    def __init__(self, message: Mapping[str, object], where: str | None = None) -> None:
        self.message = message
        self.where = where or str(message.get("type", "message"))

    def _fail(self, key: str, what: str) -> ProtocolError:
        return ProtocolError("bad_field", f"{self.where}: field {key!r} must be {what}")

    def _get(self, key: str, present: bool) -> object:
        if key not in self.message:
            if present:
                raise ProtocolError("bad_field", f"{self.where}: missing field {key!r}")
            return None
        value = self.message[key]
        if value is None:
            raise ProtocolError(
                "bad_field", f"{self.where}: field {key!r} is null; leave it out for its default"
            )
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(key, "an integer")
        return value

    def number(self, key: str, default: float | None = None) -> float:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._fail(key, "a number")
        if not math.isfinite(value):
            raise self._fail(key, "a finite number")
        return float(value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def floats(self, key: str, size: int | None = None) -> tuple[float, ...]:
        """A list of finite numbers (of `size` items when given)."""
        value = self._get(key, True)
        if (
            not isinstance(value, list)
            or (size is not None and len(value) != size)
            or not all(type(v) in (int, float) and math.isfinite(v) for v in value)
        ):
            count = f"{size} " if size is not None else ""
            raise self._fail(key, f"a list of {count}finite numbers")
        return tuple(float(v) for v in value)

    def vector(self, key: str, size: int | None = None) -> np.ndarray:
        """`floats` as an array."""
        return np.array(self.floats(key, size))

    def mapping(self, key: str, required: bool = True) -> Mapping[str, object]:
        value = self._get(key, required)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self._fail(key, "a map")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, False)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings")
        return tuple(value)

    def array(self, key: str) -> np.ndarray:
        try:
            return decode_array(self.mapping(key))
        except ProtocolError as err:
            raise ProtocolError(err.code, f"{self.where}: field {key!r}: {err}") from None


# -- arrays ---------------------------------------------------------------------------------------
def encode_array(a: np.ndarray) -> dict[str, object]:
    """{"dtype", "shape", "data"}: little-endian dtype string, shape, raw C-order bytes."""
    arr = np.asarray(a)
    if arr.dtype.str.startswith(">"):  # big-endian data (or host): the wire is little-endian
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d arrays into 1-d)
    dtype = arr.dtype.str
    if dtype not in ARRAY_DTYPES:
        raise ValueError(f"arrays of dtype {arr.dtype} cannot travel over the bridge")
    return {"dtype": dtype, "shape": list(arr.shape), "data": arr.tobytes()}


def decode_array(d: Mapping[str, object]) -> np.ndarray:
    """The array of an {"dtype", "shape", "data"} map (a writable copy), checked throughout."""
    f = Fields(d, "array")
    dtype = f.text("dtype")
    if dtype not in ARRAY_DTYPES:
        raise ProtocolError("bad_field", f"array dtype {dtype!r} is not one of the numeric types")
    shape = d.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_ARRAY_DIMS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ProtocolError("bad_field", "array shape must be a list of at most 8 sizes >= 0")
    data = d.get("data")
    if not isinstance(data, bytes):
        raise ProtocolError("bad_field", "array data must be binary")
    dt = np.dtype(dtype)
    count = math.prod(shape)
    if count * dt.itemsize != len(data):
        raise ProtocolError(
            "bad_field",
            f"array data holds {len(data)} bytes, shape {shape} of {dtype} needs "
            f"{count * dt.itemsize}",
        )
    return np.frombuffer(data, dtype=dt).reshape(shape).copy()
