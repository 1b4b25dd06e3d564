"""Everything behind the console's page, built from a `StackConfig` and closed in order.

The arm, reached through a bridge (a sim bridge in this process when the config names a scene
or a task); the session on it; the hub; one live camera per camera of the arm, started while a
page is connected; the episode's recording; push-to-talk; and the web app over all of them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from robot_llm.config import StackConfig
from robot_llm.console.app import create_app
from robot_llm.console.hearing import Hearing
from robot_llm.console.hub import Hub
from robot_llm.console.recording import EpisodeRecorder
from robot_llm.console.security import Access
from robot_llm.console.sim_bridge import SimBridge
from robot_llm.console.views import LiveCamera, SceneOverlay
from robot_llm.session import Session, open_session, scene_of_config
from robot_llm.types import CameraFrame


@dataclass
class ConsoleStack:
    hub: Hub
    session: Session
    cameras: dict[str, LiveCamera]
    recorder: EpisodeRecorder
    app: FastAPI
    sim: SimBridge | None
    _lock: threading.Lock

    @classmethod
    def open(
        cls,
        config: StackConfig,
        access: Access,
        folder: Path,
        asr: str = "whisper",
        asr_options: dict[str, Any] | None = None,
        hold_after_s: float | None = None,
    ) -> ConsoleStack:
        """Start the arm's bridge (sim), open the session and build the app; nothing is served
        yet. `folder` keeps the episode's recording."""
        sim, source, reference = None, config.robot.address or "", None
        if config.robot.address is None:
            from robot_llm.perception import scene_from_spec

            spec, _, source = scene_of_config(config.robot)  # bad input before anything starts
            reference = scene_from_spec(spec)
            sim = SimBridge(config.robot)
            source = f"simulated {config.robot.sim_robot}: {source}"
            robot = replace(config.robot, robot=sim.address, task=None, scene=None, randomize=None)
            config = replace(config, robot=robot)
        try:
            session = open_session(config)
        except BaseException:
            if sim is not None:
                sim.close()
            raise
        if reference is not None:
            session.reference = reference
        return cls._around(session, sim, source, access, folder, asr, asr_options, hold_after_s)

    @classmethod
    def _around(
        cls,
        session: Session,
        sim: SimBridge | None,
        source: str,
        access: Access,
        folder: Path,
        asr: str,
        asr_options: dict[str, Any] | None,
        hold_after_s: float | None,
    ) -> ConsoleStack:
        robot: Any = session.robot
        recorder = EpisodeRecorder(folder)
        extra = {} if hold_after_s is None else {"hold_after_s": hold_after_s}
        hub = Hub(
            session,
            robot_name=robot.info.name,
            source=source,
            cameras=tuple(robot.info.cameras),
            estop=getattr(robot, "estop", robot.stop),
            reset=getattr(robot, "reset", robot.resume),
            robot_mode=lambda: (robot.state().mode, getattr(robot, "hold_reason", "")),
            link=lambda: str(getattr(robot, "link", "up")),
            on_event=lambda message: _record(recorder, message),
            **extra,
        )
        overlay = SceneOverlay(session.perceiver, known=lambda: hub.last_scene or session.reference)
        cameras = {
            name: LiveCamera(
                robot,
                name,
                objects=overlay.objects,
                before_draw=overlay.update,
                on_frame=lambda camera, jpeg, frame: _deliver(hub, recorder, cameras, frame, jpeg),
            )
            for name in hub.cameras
        }
        hearing = Hearing(hub, session, asr, dict(asr_options or {}))
        lock = threading.Lock()

        def pages(count: int) -> None:
            with lock:
                for camera in cameras.values():
                    camera.start() if count else camera.stop(timeout=0)

        app = create_app(
            hub,
            access,
            frame=lambda camera: cameras[camera].latest_jpeg,
            hear=hearing.hear,
            episode_video=recorder.video_path,
            episode_log=recorder.log_path,
            on_pages=pages,
        )
        hub.start()
        return cls(hub, session, cameras, recorder, app, sim, lock)

    def close(self) -> None:
        """Hold the arm if it works, stop the cameras and the hub, close the session, the sim
        bridge and the recording."""
        try:
            self.hub.close()
            for camera in self.cameras.values():
                camera.stop()
            self.session.close()
        finally:
            if self.sim is not None:
                self.sim.close()
            self.recorder.close()


def _deliver(
    hub: Hub,
    recorder: EpisodeRecorder,
    cameras: dict[str, LiveCamera],
    frame: CameraFrame,
    jpeg: bytes,
) -> None:
    camera = cameras[frame.camera]
    hub.offer_frame(frame.camera, jpeg, camera.fps)
    if frame.camera == "main" and hub.busy:
        recorder.add_frame(frame.rgb)


def _record(recorder: EpisodeRecorder, message: dict[str, Any]) -> None:
    if message.get("type") == "turn":
        recorder.start_clip()
    recorder.add_event(message)
    if message.get("type") == "done":
        recorder.end_clip()
