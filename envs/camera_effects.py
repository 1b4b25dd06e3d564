"""What a real RGB-D camera does to an image that a renderer does not: applied to rendered pixels.

Each function takes one frame and an `Appearance` and returns a new array (the input is never
changed); with a neutral appearance the input comes back as it is. They work on any frame, so a
benchmark can also degrade frames it rendered itself or recorded:

    rng = np.random.default_rng(0)
    rgb2 = apply_rgb_effects(rgb, Appearance(exposure=1.4, read_noise=2.0), rng)
    depth2 = apply_depth_effects(depth, Appearance(depth_noise=0.002, depth_holes=0.02), rng)
"""

from __future__ import annotations

import hashlib

import numpy as np

from robot_llm.envs.appearance import DEFAULT_AMBIENT, DEFAULT_DIFFUSE, Appearance

HOLE_BLOB_PIXELS = 4  # holes come in blobs of about this many pixels across, not single pixels


def frame_rng(appearance: Appearance, camera: str, rgb: np.ndarray) -> np.random.Generator:
    """The noise generator of one rendered frame: the appearance's seed, the camera and a digest
    of the clean pixels. The same scene state always gets the same noise, so an episode replays
    exactly however many extra frames a video recorder renders in between."""
    digest = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=8).digest()
    words = [appearance.seed % 2**63, int.from_bytes(camera.encode()[:8].ljust(8, b"\0"), "little")]
    return np.random.default_rng([*words, int.from_bytes(digest, "little")])


def light_gain(appearance: Appearance) -> np.ndarray:
    """Per-channel gain that stands in for the light's colour and ambient + diffuse level on a
    renderer that ignores them (PyBullet's OpenGL/EGL renderer): TinyRenderer lights a surface
    by ambient + diffuse * light colour, so the ratio to the default level is applied."""
    color = np.asarray(appearance.light_color, dtype=np.float64)
    level = appearance.ambient + appearance.diffuse * color
    return np.asarray(level / (DEFAULT_AMBIENT + DEFAULT_DIFFUSE), dtype=np.float32)


def apply_rgb_effects(
    rgb: np.ndarray,
    appearance: Appearance,
    rng: np.random.Generator,
    gain: np.ndarray | None = None,
) -> np.ndarray:
    """H x W x 3 uint8 RGB as the camera would deliver it: optical blur, exposure and white
    balance (times `gain`, per channel, when given), shot and read noise, 8-bit rounding,
    then JPEG re-compression."""
    a = appearance
    total = np.asarray(a.white_balance, dtype=np.float32) * np.float32(a.exposure)
    if gain is not None:
        total = total * np.asarray(gain, dtype=np.float32)
    touched = a.blur > 0 or a.read_noise > 0 or a.shot_noise > 0 or bool((total != 1.0).any())
    if not touched and a.jpeg_quality is None:
        return rgb
    out: np.ndarray = np.asarray(rgb)
    if touched:
        import cv2

        x = out.astype(np.float32)
        if a.blur > 0:
            x = np.asarray(cv2.GaussianBlur(x, (0, 0), sigmaX=a.blur, sigmaY=a.blur), np.float32)
        if (total != 1.0).any():
            x *= total
        if a.read_noise > 0 or a.shot_noise > 0:
            variance = np.maximum(x, 0.0) * np.float32(a.shot_noise) + np.float32(a.read_noise**2)
            x += rng.standard_normal(x.shape, dtype=np.float32) * np.sqrt(variance)
        out = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if a.jpeg_quality is not None:
        out = jpeg_roundtrip(out, a.jpeg_quality)
    return np.ascontiguousarray(out)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """RGB compressed to JPEG at `quality` (1 - 100) and decoded again, as an MJPEG webcam
    stream or a recorded video delivers it."""
    import cv2

    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:  # pragma: no cover - OpenCV round-trips any uint8 image
        raise RuntimeError("JPEG re-compression failed")
    return np.ascontiguousarray(decoded[:, :, ::-1])


def apply_depth_effects(
    depth: np.ndarray, appearance: Appearance, rng: np.random.Generator
) -> np.ndarray:
    """H x W float32 metric depth as an RGB-D camera would deliver it: Gaussian noise whose std
    grows in proportion to the distance, and a fraction of pixels in small blobs set to 0,
    the value RGB-D cameras (RealSense, Kinect, OpenNI) give a pixel without a measurement."""
    a = appearance
    if a.depth_noise <= 0 and a.depth_holes <= 0:
        return depth
    out = np.array(depth, dtype=np.float32, copy=True)
    if a.depth_noise > 0:
        out += rng.standard_normal(out.shape, dtype=np.float32) * (np.float32(a.depth_noise) * out)
    if a.depth_holes > 0:
        out[hole_mask(out.shape, a.depth_holes, rng)] = 0.0
    return out


def hole_mask(shape: tuple[int, ...], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask with about `fraction` of its pixels set, in blobs a few pixels across
    (a smooth random field below its `fraction` quantile)."""
    import cv2

    h, w = int(shape[0]), int(shape[1])
    small = rng.random(
        (max(h // HOLE_BLOB_PIXELS, 1) + 1, max(w // HOLE_BLOB_PIXELS, 1) + 1), dtype=np.float32
    )
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    k = min(max(round(fraction * field.size), 0), field.size - 1)
    threshold = np.partition(field.ravel(), k)[k]
    return np.asarray(field < threshold)
