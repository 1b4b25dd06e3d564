"""Camera streams as mp4 files with PyAV: one episode's encoding, episodes joined without
re-encoding (packets moved on in time), and frames decoded back by timestamp.

Frames are H.264 (libx264), yuv420p, a keyframe every 2 frames and no B-frames, so that a
frame is found by seeking to its timestamp, as LeRobot's decoders do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

ENCODER = "libx264"
ENCODER_OPTIONS = {"crf": "23", "g": "2", "bf": "0", "preset": "veryfast"}


def encode(path: Path, frames: Sequence[np.ndarray], fps: int) -> None:
    """Write RGB uint8 frames (H x W x 3, even sizes) to `path`, frame i at i / fps seconds."""
    import av

    if not frames:
        raise ValueError(f"{path}: no frames to encode")
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream(ENCODER, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.codec_context.thread_count = 1  # one core per recording worker
        stream.options = dict(ENCODER_OPTIONS)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def join(parts: Sequence[tuple[Path, int]], path: Path, fps: int) -> list[float]:
    """Concatenate episode files (each with its frame count) into `path` without re-encoding;
    the start time of each part in the joined file, in seconds."""
    import av

    starts: list[float] = []
    frames_before = 0
    with av.open(str(path), "w", format="mp4") as out:
        ostream = None
        for part, count in parts:
            starts.append(frames_before / fps)
            with av.open(str(part)) as src:
                istream = src.streams.video[0]
                if ostream is None:
                    ostream = out.add_stream_from_template(istream)
                for packet in src.demux(istream):
                    if packet.dts is None:  # the demuxer's empty packet at the end
                        continue
                    assert packet.time_base is not None and packet.pts is not None
                    shift = round(Fraction(frames_before, fps) / packet.time_base)
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = ostream
                    out.mux(packet)
            frames_before += count
    return starts


def decode(path: Path, from_timestamp: float, count: int, fps: int) -> np.ndarray:
    """`count` RGB frames (count x H x W x 3) from `from_timestamp` seconds on."""
    import av

    first = round(from_timestamp * fps)
    frames: list[np.ndarray] = []
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        assert stream.time_base is not None
        src.seek(int(from_timestamp / stream.time_base), stream=stream, backward=True)
        for frame in src.decode(stream):
            if frame.time is None or round(frame.time * fps) < first:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    if len(frames) < count:
        raise ValueError(
            f"{path}: {len(frames)} frames from {from_timestamp:.3f} s, expected {count}"
        )
    return np.stack(frames)


@dataclass(frozen=True)
class VideoProbe:
    """What a video file holds, read from its packets (nothing decoded)."""

    codec: str
    width: int
    height: int
    pix_fmt: str
    frames: int
    fps: float


def probe(path: Path) -> VideoProbe:
    import av

    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        frames = sum(1 for p in src.demux(stream) if p.dts is not None)
        ctx = stream.codec_context
        rate = stream.average_rate or stream.base_rate or 0
        return VideoProbe(ctx.name, ctx.width, ctx.height, str(ctx.pix_fmt), frames, float(rate))
