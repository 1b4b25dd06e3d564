"""Cameras: intrinsics, frame conventions and back-projection checked against PyBullet itself."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.camera import (
    CameraSpec,
    Intrinsics,
    RenderedFrame,
    backproject,
    depth_to_points,
    look_at,
    project,
    projection_matrix,
    view_matrix,
)
from robot_llm.envs.world import MAIN_CAMERA, WRIST_CAMERA, TabletopWorld
from robot_llm.tabletop.palette import BLOCK_EDGE

MakeWorld = Callable[..., TabletopWorld]

BLOCKS = [
    {"id": "left", "kind": "block", "color": "red", "position": [0.45, 0.18]},
    {"id": "stacked", "kind": "block", "color": "blue", "size": "small", "position": [0.45, 0.18]},
    {"id": "right", "kind": "block", "color": "green", "size": "large", "position": [0.45, -0.18]},
    {"id": "far", "kind": "block", "color": "yellow", "position": [0.64, 0.0], "yaw": -30},
    {"id": "near", "kind": "block", "color": "cyan", "size": "small", "position": [0.34, 0.02]},
    {"id": "bowl", "kind": "bowl", "color": "purple", "position": [0.60, 0.18]},
]
BLOCKS[1]["on"] = "left"
BLOCKS[2]["yaw"] = 25

ACCURACY = 0.001  # meters: back-projected points agree with the scene to a millimetre


@pytest.fixture
def world(make_world: MakeWorld) -> TabletopWorld:
    return make_world(BLOCKS)


def gl_rays(extrinsics: np.ndarray, spec: CameraSpec, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Unit directions (N x 3) through pixels from PyBullet's own view and projection matrices.

    This is how the renderer maps pixels to rays, independent of `Intrinsics`.
    """
    view = np.array(view_matrix(extrinsics)).reshape(4, 4).T
    proj = np.array(projection_matrix(spec)).reshape(4, 4).T
    inv = np.linalg.inv(proj @ view)
    us, vs = np.atleast_1d(us).astype(float), np.atleast_1d(vs).astype(float)
    ndc = np.column_stack([(2 * us + 1) / spec.width - 1, 1 - (2 * vs + 1) / spec.height])
    ones = np.ones(len(us))
    near = np.column_stack([ndc, -ones, ones]) @ inv.T
    far = np.column_stack([ndc, ones, ones]) @ inv.T
    d = far[:, :3] / far[:, 3:] - near[:, :3] / near[:, 3:]
    return np.asarray(d / np.linalg.norm(d, axis=1, keepdims=True))


def top_face_pixels(
    frame: RenderedFrame, world: TabletopWorld, object_id: str, n: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (u, v) whose centers see the inner 60% of a block's top face, by its known pose."""
    state = world.object_states()[object_id]
    half = BLOCK_EDGE[state.spec.size] / 2
    rot = np.asarray(p.getMatrixFromQuaternion(state.orientation.tolist())).reshape(3, 3)
    grid = np.linspace(-0.6 * half, 0.6 * half, n)
    local = np.array([[x, y, half] for x in grid for y in grid])
    points = local @ rot.T + state.position
    uv, _ = project(points, frame.intrinsics, frame.extrinsics)
    pix = np.unique(np.rint(uv).astype(int), axis=0)
    return pix[:, 0], pix[:, 1]


# Bullet's ray test against a box is approximate near its collision margin (a tenth of the
# smallest half extent: 1.5 mm on a small block); measured up to 0.8 mm off on exact faces. The
# exact reference is the renderer's pixel ray meeting the known plane of the surface.
RAY_TEST_TOLERANCE = 0.002


def check_pixels(
    world: TabletopWorld,
    frame: RenderedFrame,
    spec: CameraSpec,
    us: np.ndarray,
    vs: np.ndarray,
    body: int,
    plane_z: float,
) -> float:
    """Back-project pixels that see a horizontal surface; return the worst error (m).

    The reference is where the renderer's ray through each pixel meets the plane z = plane_z;
    a PyBullet rayTest along the same rays must hit the same body at the same point.
    """
    assert frame.segmentation is not None
    assert np.all(frame.segmentation[vs, us] == body), "pixels do not see the expected body"
    points = backproject(us, vs, frame.depth[vs, us], frame.intrinsics, frame.extrinsics)
    eye = frame.extrinsics[:3, 3]
    rays = gl_rays(frame.extrinsics, spec, us, vs)
    expected = eye + rays * ((plane_z - eye[2]) / rays[:, 2])[:, None]
    error = float(np.linalg.norm(points - expected, axis=1).max())
    ends = eye + 3.0 * rays
    hits = p.rayTestBatch([eye.tolist()] * len(us), ends.tolist(), physicsClientId=world.client)
    assert [h[0] for h in hits] == [body] * len(hits)
    ray_error = np.linalg.norm(np.array([h[3] for h in hits]) - points, axis=1).max()
    assert ray_error < RAY_TEST_TOLERANCE
    return error


def check_frame_accuracy(
    world: TabletopWorld, frame: RenderedFrame, spec: CameraSpec, block_ids: list[str]
) -> None:
    assert frame.segmentation is not None
    states = world.object_states()
    for oid in block_ids:
        us, vs = top_face_pixels(frame, world, oid)
        assert len(us) >= 4, f"{oid}: too few pixels on its top face"
        top_z = float(states[oid].position[2]) + BLOCK_EDGE[states[oid].spec.size] / 2
        error = check_pixels(world, frame, spec, us, vs, world.bodies[oid], top_z)
        assert error < ACCURACY, f"{oid}: back-projection off by {error * 1000:.2f} mm"
    # The table: a grid of pixels that see it, a few pixels away from anything else.
    seg = frame.segmentation
    h, w = seg.shape
    vs, us = np.mgrid[4 : h - 4 : 13, 4 : w - 4 : 13].reshape(2, -1)
    clear = seg == world.table
    for dv, du in [(-4, 0), (4, 0), (0, -4), (0, 4), (-4, -4), (4, 4), (-4, 4), (4, -4)]:
        clear[4:-4, 4:-4] &= seg[4 + dv : h - 4 + dv, 4 + du : w - 4 + du] == world.table
    keep = clear[vs, us]
    us, vs = us[keep], vs[keep]
    assert len(us) > 50
    error = check_pixels(world, frame, spec, us, vs, world.table, 0.0)
    assert error < ACCURACY, f"table: back-projection off by {error * 1000:.2f} mm"


def test_main_camera_back_projection_is_millimetre_accurate(world: TabletopWorld) -> None:
    frame = world.render_main(segmentation=True)
    check_frame_accuracy(world, frame, world.main_camera, ["stacked", "right", "far", "near"])


def move_hand(world: TabletopWorld, position: tuple[float, float, float]) -> None:
    arm = world.require_arm()
    q = arm.solve_ik(np.array(position), np.asarray(arm.description.ee_down))
    for j, v in zip(arm.arm_joints, q, strict=True):
        p.resetJointState(arm.body, j, float(v), physicsClientId=world.client)


def test_wrist_camera_back_projection_is_millimetre_accurate(world: TabletopWorld) -> None:
    move_hand(world, (0.45, 0.18, 0.20))  # straight above the stacked blocks
    frame = world.render_wrist(segmentation=True)
    assert frame.rgb.shape == (WRIST_CAMERA.height, WRIST_CAMERA.width, 3)
    check_frame_accuracy(world, frame, world.wrist_camera, ["stacked"])


def test_wrist_camera_sees_what_is_below_the_gripper(world: TabletopWorld) -> None:
    arm = world.require_arm()
    move_hand(world, (0.45, -0.18, 0.15))  # above the large green block
    frame = world.render_wrist(segmentation=True)
    assert frame.segmentation is not None
    # Looking down, from the hand: the optical axis points at the table.
    assert frame.extrinsics[2, 2] < -0.99
    hand, _ = arm.ee_pose()
    assert np.linalg.norm(frame.extrinsics[:2, 3] - hand[:2]) < 0.08
    # The block under the fingers is in view and unoccluded (all of its top face is visible),
    # and the hand hides only a small part of the image.
    us, vs = top_face_pixels(frame, world, "right")
    assert np.all(frame.segmentation[vs, us] == world.bodies["right"])
    assert np.mean(frame.segmentation == arm.body) < 0.15


def test_wrist_camera_follows_the_hand(world: TabletopWorld) -> None:
    move_hand(world, (0.40, 0.0, 0.25))
    a = world.wrist_extrinsics()
    move_hand(world, (0.55, -0.1, 0.25))
    b = world.wrist_extrinsics()
    assert np.allclose(b[:3, 3] - a[:3, 3], [0.15, -0.1, 0.0], atol=0.003)
    assert np.allclose(a[:3, :3] @ a[:3, :3].T, np.eye(3), atol=1e-6)


@pytest.mark.parametrize("spec", [MAIN_CAMERA, WRIST_CAMERA, CameraSpec("odd", 161, 97, 71.0)])
def test_pixel_rays_match_pybullet_matrices(world: TabletopWorld, spec: CameraSpec) -> None:
    # Pixel centers sit at integer coordinates (OpenCV); PyBullet's projection agrees exactly.
    extrinsics = world.main_extrinsics if spec.name != "wrist" else world.wrist_extrinsics()
    us = np.array([0, spec.width - 1, spec.width // 3, spec.width - 1])
    vs = np.array([0, spec.height - 1, 2 * spec.height // 3, 0])
    points = backproject(us, vs, np.ones(len(us)), spec.intrinsics, extrinsics)
    ours = points - extrinsics[:3, 3]
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    cosines = np.sum(ours * gl_rays(extrinsics, spec, us, vs), axis=1)
    assert np.degrees(np.arccos(np.minimum(cosines, 1.0))).max() < 1e-4


@pytest.mark.parametrize(
    ("width", "height", "fov"),
    [(640, 480, 33.0), (320, 240, 60.0), (160, 120, 45.0), (101, 303, 90.0)],
)
def test_intrinsics_match_field_of_view(width: int, height: int, fov: float) -> None:
    k = Intrinsics.from_fov(width, height, fov)
    assert k.fy == pytest.approx(height / 2 / math.tan(math.radians(fov / 2)))
    assert k.fx == k.fy  # square pixels
    assert (k.cx, k.cy) == ((width - 1) / 2, (height - 1) / 2)
    assert k.fov_y_deg == pytest.approx(fov)
    assert k.matrix.shape == (3, 3)
    assert np.array_equal(k.matrix, [[k.fx, 0, k.cx], [0, k.fy, k.cy], [0, 0, 1]])
    # The edge of the image is fov/2 off the optical axis.
    ray = np.linalg.solve(k.matrix, [k.cx, -0.5, 1.0])
    assert math.degrees(math.atan2(-ray[1], ray[2])) == pytest.approx(fov / 2)
    # Same focal lengths as the projection matrix PyBullet renders with.
    proj = np.array(projection_matrix(CameraSpec("c", width, height, fov))).reshape(4, 4).T
    assert proj[0, 0] * width / 2 == pytest.approx(k.fx)
    assert proj[1, 1] * height / 2 == pytest.approx(k.fy)


def test_project_inverts_backproject(world: TabletopWorld) -> None:
    rng = np.random.default_rng(0)
    k, ext = MAIN_CAMERA.intrinsics, world.main_extrinsics
    u = rng.uniform(0, k.width - 1, 200)
    v = rng.uniform(0, k.height - 1, 200)
    depth = rng.uniform(0.2, 2.0, 200)
    points = backproject(u, v, depth, k, ext)
    uv, z = project(points, k, ext)
    assert np.allclose(uv[:, 0], u, atol=1e-9) and np.allclose(uv[:, 1], v, atol=1e-9)
    assert np.allclose(z, depth, atol=1e-12)
    # And the other way round, from table points.
    table_points = np.column_stack(
        [rng.uniform(0.3, 0.7, 50), rng.uniform(-0.3, 0.3, 50), rng.uniform(0, 0.1, 50)]
    )
    uv, z = project(table_points, k, ext)
    assert np.allclose(backproject(uv[:, 0], uv[:, 1], z, k, ext), table_points, atol=1e-12)


def test_depth_to_points_matches_backproject(world: TabletopWorld) -> None:
    frame = world.render_main()
    points = depth_to_points(frame.depth, frame.intrinsics, frame.extrinsics)
    assert points.shape == (*frame.depth.shape, 3)
    for u, v in [(0, 0), (639, 479), (320, 100), (17, 401)]:
        expected = backproject(u, v, frame.depth[v, u], frame.intrinsics, frame.extrinsics)
        assert np.allclose(points[v, u], expected)


def test_look_at_points_the_optical_axis_at_the_target() -> None:
    eye, target = np.array([0.2, 0.1, 1.0]), np.array([0.6, -0.2, 0.0])
    pose = look_at(eye, target, np.array([0.0, 0.0, 1.0]))
    assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3))
    assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)  # right-handed
    assert np.allclose(pose[:3, 3], eye)
    k = MAIN_CAMERA.intrinsics
    uv, z = project(target, k, pose)
    assert np.allclose(uv[0], [k.cx, k.cy])
    assert z[0] == pytest.approx(np.linalg.norm(target - eye))
    # Image "up" (-y) leans toward world up.
    assert -pose[2, 1] > 0


def centroid(frame: RenderedFrame, body: int) -> np.ndarray:
    assert frame.segmentation is not None
    vs, us = np.nonzero(frame.segmentation == body)
    assert len(us) > 20
    return np.array([us.mean(), vs.mean()])


def test_main_image_left_is_plus_y_and_up_is_far(world: TabletopWorld) -> None:
    frame = world.render_main(segmentation=True)
    width = frame.intrinsics.width
    left, right = centroid(frame, world.bodies["left"]), centroid(frame, world.bodies["right"])
    far, near = centroid(frame, world.bodies["far"]), centroid(frame, world.bodies["near"])
    assert left[0] < width / 2 < right[0]  # +y (the robot's left) is the image's left
    assert far[1] < near[1]  # larger x (farther from the robot) is higher in the image
    # The rendered blobs sit where project() puts the objects' top faces.
    states = world.object_states()
    for oid in ("stacked", "right", "far", "near"):
        s = states[oid]
        top = s.position + np.array([0.0, 0.0, BLOCK_EDGE[s.spec.size] / 2])
        uv, _ = project(top, frame.intrinsics, frame.extrinsics)
        assert np.linalg.norm(uv[0] - centroid(frame, world.bodies[oid])) < 5.0, oid


def test_render_outputs(world: TabletopWorld) -> None:
    frame = world.render_main(segmentation=True)
    h, w = MAIN_CAMERA.height, MAIN_CAMERA.width
    assert frame.rgb.shape == (h, w, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (h, w) and frame.depth.dtype == np.float32
    assert frame.segmentation is not None and frame.segmentation.dtype == np.int32
    assert MAIN_CAMERA.near < frame.depth.min() and frame.depth.max() < MAIN_CAMERA.far
    seen = set(np.unique(frame.segmentation).tolist())
    assert {world.bodies[k] for k in ("left", "right", "far", "near", "bowl", "stacked")} <= seen
    # Objects are drawn in their palette colors: the red block is red, the green block green.
    red = frame.rgb[frame.segmentation == world.bodies["left"]].mean(axis=0)
    green = frame.rgb[frame.segmentation == world.bodies["right"]].mean(axis=0)
    assert red[0] > 1.5 * max(red[1], red[2])
    assert green[1] > 1.5 * max(green[0], green[2])
    assert world.render_main().segmentation is None
