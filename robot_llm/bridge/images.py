"""Camera images on the wire: raw arrays, or JPEG/PNG files encoded with OpenCV.

An image is a map with "encoding": "raw" adds an array's {"dtype", "shape", "data"}; "jpeg" and
"png" carry the file bytes in "data" and the decoded "shape". Color images decode to RGB (the
file itself follows the format's own convention). Depth is metric float32 when raw; compressed,
it is a 16-bit PNG whose values times "scale" are meters (0: no reading). JPEG is never used for
depth: its loss would move surfaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from robot_llm.bridge.protocol import Fields, ProtocolError, decode_array, encode_array

ENCODINGS: Final = ("raw", "jpeg", "png")
DEPTH_PNG_SCALE: Final = 1e-4  # meters per unit: 16 bits reach 6.5 m at 0.1 mm
DEFAULT_JPEG_QUALITY: Final = 90


def depth_encoding_for(encoding: str) -> str:
    """The depth encoding that goes with a color encoding: raw with raw, else 16-bit PNG."""
    return "raw" if encoding == "raw" else "png"


def encode_rgb(rgb: np.ndarray, encoding: str, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> dict:
    """An H x W x 3 uint8 RGB image as a wire image map."""
    if encoding == "raw":
        return {"encoding": "raw", **encode_array(rgb)}
    import cv2

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    if encoding == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    elif encoding == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        raise ValueError(f"unknown image encoding {encoding!r}; encodings are {ENCODINGS}")
    if not ok:
        raise ValueError(f"OpenCV could not encode a {rgb.shape} image as {encoding}")
    return {"encoding": encoding, "shape": list(rgb.shape), "data": buf.tobytes()}


def encode_depth(depth: np.ndarray, encoding: str) -> dict:
    """An H x W metric depth image (meters) as a wire image map."""
    d = np.asarray(depth, dtype=np.float32)
    if encoding == "raw":
        return {"encoding": "raw", **encode_array(d)}
    if encoding != "png":
        raise ValueError(f"depth travels raw or as png, not {encoding!r}")
    import cv2

    units = np.where(np.isfinite(d) & (d > 0), d / DEPTH_PNG_SCALE, 0.0)
    u16 = np.clip(np.rint(units), 0, 65535).astype(np.uint16)
    ok, buf = cv2.imencode(".png", u16, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {d.shape} depth image as png")
    return {"encoding": "png", "shape": list(d.shape), "scale": DEPTH_PNG_SCALE, "data": bytes(buf)}


def decode_image(d: Mapping[str, object], where: str = "image") -> np.ndarray:
    """The array of a wire image map: RGB uint8 for color, float32 meters for depth."""
    f = Fields(d, where)
    encoding = f.text("encoding")
    if encoding == "raw":
        return decode_array(d)
    if encoding not in ENCODINGS:
        raise ProtocolError("bad_field", f"{where}: unknown encoding {encoding!r}")
    data = d.get("data")
    if not isinstance(data, bytes):
        raise ProtocolError("bad_field", f"{where}: field 'data' must be binary")
    shape = d.get("shape")
    if not isinstance(shape, list) or len(shape) not in (2, 3):
        raise ProtocolError("bad_field", f"{where}: field 'shape' must be [H, W] or [H, W, 3]")
    import cv2

    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or list(img.shape) != shape:
        raise ProtocolError("bad_field", f"{where}: the {encoding} data does not decode to {shape}")
    if img.ndim == 3:
        return np.ascontiguousarray(img[:, :, ::-1])
    if img.dtype == np.uint16:
        return (img.astype(np.float32) * np.float32(f.number("scale"))).astype(np.float32)
    return np.ascontiguousarray(img)
