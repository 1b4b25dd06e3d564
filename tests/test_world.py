"""The PyBullet world: containers that hold what falls in, determinism, state snapshots, robots."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.arm import Arm
from robot_llm.envs.robots import PANDA, ROBOTS, get_robot
from robot_llm.envs.world import PHYSICS_HZ, TabletopWorld
from robot_llm.tabletop.geometry import BOWL_HEIGHT, TRAY_HEIGHT
from robot_llm.tabletop.predicates import bottom, in_bowl, in_tray, upright
from robot_llm.tabletop.scene import SceneSpec, parse_scene

MakeWorld = Callable[..., TabletopWorld]

CONTAINERS = [
    {"id": "bowl", "kind": "bowl", "color": "blue", "size": "small", "position": [0.55, 0.12]},
    {"id": "tray", "kind": "tray", "color": "gray", "size": "small", "position": [0.45, -0.16]},
    {"id": "block", "kind": "block", "color": "red", "size": "large", "position": [0.38, 0.15]},
]


def drop(world: TabletopWorld, object_id: str, xyz: tuple[float, float, float]) -> None:
    """Teleport an object, tilted, to a point above the table and let it fall for one second."""
    quat = p.getQuaternionFromEuler([0.4, 0.3, 0.7])
    body = world.bodies[object_id]
    p.resetBasePositionAndOrientation(body, xyz, quat, physicsClientId=world.client)
    world.step_physics(PHYSICS_HZ)


@pytest.mark.parametrize(
    ("bowl_size", "block_size", "offset"),
    [
        ("small", "large", (0.0, 0.0)),
        ("medium", "medium", (0.03, -0.02)),
        ("large", "small", (-0.05, 0.0)),
    ],
)
def test_block_dropped_into_bowl_stays_inside(
    make_world: MakeWorld, bowl_size: str, block_size: str, offset: tuple[float, float]
) -> None:
    world = make_world(
        [
            {
                "id": "bowl",
                "kind": "bowl",
                "color": "blue",
                "size": bowl_size,
                "position": [0.55, 0.0],
            },
            {
                "id": "b",
                "kind": "block",
                "color": "red",
                "size": block_size,
                "position": [0.38, 0.2],
            },
        ]
    )
    drop(world, "b", (0.55 + offset[0], offset[1], 0.15))
    states = world.object_states()
    block, bowl = states["b"], states["bowl"]
    assert in_bowl(block, bowl), f"block ended at {block.position} (bowl at {bowl.position})"
    assert bottom(block) < bottom(bowl) + BOWL_HEIGHT
    assert world.contacts("b") == {"bowl"}  # held by the bowl's floor or walls, not the table
    # The block came to rest and the bowl was not knocked over.
    assert (
        np.linalg.norm(p.getBaseVelocity(world.bodies["b"], physicsClientId=world.client)[0]) < 0.01
    )
    assert upright(bowl)


def test_block_dropped_into_tray_stays_inside(make_world: MakeWorld) -> None:
    world = make_world(CONTAINERS)
    tray = world.object_states()["tray"]
    drop(world, "block", (float(tray.position[0]) + 0.03, float(tray.position[1]) + 0.05, 0.15))
    states = world.object_states()
    assert in_tray(states["block"], states["tray"])
    assert bottom(states["block"]) < bottom(states["tray"]) + TRAY_HEIGHT
    assert world.contacts("block") == {"tray"}


def test_block_dropped_on_table_lands_on_table(make_world: MakeWorld) -> None:
    # The counterpart of the container tests: the same drop beside the bowl is not "in" it.
    world = make_world(CONTAINERS)
    drop(world, "block", (0.40, 0.05, 0.15))
    states = world.object_states()
    assert not in_bowl(states["block"], states["bowl"])
    assert abs(bottom(states["block"])) < 0.003
    assert world.contacts("block") == {"table"}


def run_episode(scene: SceneSpec) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Build, drop a block onto another, move the arm; return final object poses and joints."""
    world = TabletopWorld()
    try:
        world.build(scene)
        drop(world, "block", (0.555, 0.125, 0.12))
        arm = world.require_arm()
        down = np.asarray(arm.description.ee_down)
        for target in ([0.45, 0.1, 0.25], [0.5, -0.1, 0.2]):
            arm.command_joints(arm.solve_ik(np.array(target), down))
            arm.command_gripper(0.0)
            world.step_physics(60)
        poses = {
            k: np.concatenate([s.position, s.orientation]) for k, s in world.object_states().items()
        }
        return poses, arm.joint_state()[0]
    finally:
        world.close()


def test_same_scene_and_commands_give_bit_identical_poses() -> None:
    scene = parse_scene(CONTAINERS)
    poses_a, joints_a = run_episode(scene)
    poses_b, joints_b = run_episode(scene)
    assert poses_a.keys() == poses_b.keys()
    for k in poses_a:
        assert np.array_equal(poses_a[k], poses_b[k]), k
    assert np.array_equal(joints_a, joints_b)
    # The episode did something: the dropped block moved off its start.
    assert np.linalg.norm(poses_a["block"][:2] - np.array([0.38, 0.15])) > 0.1


def test_save_and_restore_state_round_trip(make_world: MakeWorld) -> None:
    world = make_world(CONTAINERS)
    arm = world.require_arm()
    body = world.bodies["block"]
    p.resetBasePositionAndOrientation(
        body, (0.55, 0.12, 0.12), (0.0, 0.0, 0.0, 1.0), physicsClientId=world.client
    )
    snapshot = world.save_state()
    before = {k: s.position.copy() for k, s in world.object_states().items()}
    q_before, dq_before = arm.joint_state()
    arm.command_joints(arm.solve_ik(np.array([0.35, 0.0, 0.35]), np.asarray(PANDA.ee_down)))
    world.step_physics(120)
    after = {k: s.position.copy() for k, s in world.object_states().items()}
    q_after = arm.joint_state()[0]
    assert np.linalg.norm(q_after - q_before) > 0.5  # the arm moved
    assert np.linalg.norm(after["block"] - before["block"]) > 0.05  # it fell into the bowl
    world.restore_state(snapshot)
    for k, s in world.object_states().items():
        assert np.array_equal(s.position, before[k]), k
    q_restored, dq_restored = arm.joint_state()
    assert np.array_equal(q_restored, q_before) and np.array_equal(dq_restored, dq_before)
    # Stepping again from the snapshot (motor targets are still set) replays the same motion.
    # Not bit for bit: Bullet's snapshot leaves out the contact cache of compound shapes such
    # as the bowl (bulletphysics/bullet3#4387), and a block tumbling into a bowl amplifies the
    # difference to centimetres, so only the outcome is compared.
    world.step_physics(120)
    states = world.object_states()
    assert in_bowl(states["block"], states["bowl"])
    assert np.allclose(arm.joint_state()[0], q_after, atol=1e-6)  # the arm touches nothing


def test_stacked_contacts_report_scene_ids(make_world: MakeWorld) -> None:
    world = make_world(
        [
            {"id": "low", "kind": "block", "color": "red", "position": [0.5, 0.0]},
            {"id": "high", "kind": "block", "color": "blue", "position": [0.5, 0.0], "on": "low"},
        ]
    )
    assert world.contacts("high") == {"low"}
    assert world.contacts("low") == {"table", "high"}
    assert world.object_id_of_body(world.bodies["high"]) == "high"
    assert world.object_id_of_body(world.table) is None


def test_world_without_scene() -> None:
    world = TabletopWorld()
    try:
        assert world.object_states() == {}
        with pytest.raises(RuntimeError, match="build"):
            world.require_arm()
    finally:
        world.close()
    world.close()  # closing twice is harmless
    assert world.client == -1


# -- robots ---------------------------------------------------------------------------------------

REACHABLE = [(0.45, 0.0, 0.15), (0.40, 0.20, 0.08), (0.60, -0.15, 0.20), (0.35, -0.20, 0.03)]
# A small arm reaches its own table (robot_llm.tabletop.setups); the rest reach the one above.
REACHABLE_BY_ROBOT = {
    "so101": [(0.36, 0.0, 0.06), (0.30, 0.15, 0.03), (0.38, -0.08, 0.05), (0.32, -0.15, 0.015)]
}
TRACKED_BY_ROBOT = {"so101": (0.36, 0.05, 0.05)}


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_robot_loads_by_name_goes_home_and_reaches_targets(
    make_world: MakeWorld, name: str
) -> None:
    world = make_world([{"kind": "block", "color": "red", "position": [0.5, 0.25]}], robot=name)
    arm = world.require_arm()
    description = get_robot(name)
    client = world.client
    # Joints and links resolved by name: each index points at the joint the description names.
    names = [
        p.getJointInfo(arm.body, j, physicsClientId=client)[1].decode() for j in arm.arm_joints
    ]
    assert tuple(names) == description.arm_joints
    link = p.getJointInfo(arm.body, arm.ee_link, physicsClientId=client)[12].decode()
    assert link == description.ee_link
    assert np.all(arm.limits.lower < arm.limits.upper)
    # Home: built at the home posture, and the motors hold it through the settling steps.
    q, dq = arm.joint_state()
    assert np.allclose(q, description.home, atol=1e-3)
    assert np.abs(dq).max() < 0.05
    down = np.asarray(description.ee_down)
    for target in REACHABLE_BY_ROBOT.get(name, REACHABLE):
        q_goal = arm.solve_ik(np.array(target), down)
        assert np.all(q_goal >= arm.limits.lower) and np.all(q_goal <= arm.limits.upper)
        for j, v in zip(arm.arm_joints, q_goal, strict=True):
            p.resetJointState(arm.body, j, float(v), physicsClientId=client)
        pos, quat = arm.ee_pose()
        error = np.linalg.norm(pos - np.array(target))
        assert error < 0.003, f"{name}: IK misses {target} by {error * 1000:.1f} mm"
        # The tool's z axis points straight down, as `ee_down` promises.
        tool_z = np.asarray(p.getMatrixFromQuaternion(quat.tolist())).reshape(3, 3)[:, 2]
        assert tool_z[2] < -math.cos(math.radians(2.0)), f"{name}: tool z is {tool_z}"


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_robot_motors_track_ik_solution(make_world: MakeWorld, name: str) -> None:
    world = make_world([{"kind": "zone", "color": "red", "position": [0.5, 0.25]}], robot=name)
    arm = world.require_arm()
    target = np.array(TRACKED_BY_ROBOT.get(name, (0.5, 0.05, 0.2)))
    down = np.asarray(arm.description.ee_down)
    for _ in range(3 * PHYSICS_HZ // 20):  # 3 s of a 20 Hz controller re-solving from the pose
        arm.command_joints(arm.solve_ik(target, down))
        world.step_physics(20)
    pos, _ = arm.ee_pose()
    assert np.linalg.norm(pos - target) < 0.005, f"{name}: hand at {pos}"


def test_panda_gripper_opens_and_closes(make_world: MakeWorld) -> None:
    world = make_world([{"kind": "zone", "color": "red", "position": [0.5, 0.25]}])
    arm = world.require_arm()
    assert arm.has_gripper
    assert arm.gripper_width() == pytest.approx(arm.max_gripper_width, abs=0.002)
    assert arm.max_gripper_width == pytest.approx(0.08)
    arm.command_gripper(0.0)
    world.step_physics(PHYSICS_HZ // 2)
    assert arm.gripper_width() < 0.002
    arm.command_gripper(0.5)
    world.step_physics(PHYSICS_HZ // 2)
    assert arm.gripper_width() == pytest.approx(0.04, abs=0.002)


def test_unknown_robot_name_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown robot 'ur5'.*panda.*kuka_iiwa.*xarm6"):
        get_robot("ur5")
    with pytest.raises(ValueError, match="unknown robot 'ur5'"):
        TabletopWorld("ur5")


@pytest.mark.parametrize(
    ("change", "bad_name"),
    [
        ({"arm_joints": (*PANDA.arm_joints[:-1], "panda_joint99")}, "panda_joint99"),
        ({"ee_link": "panda_tcp"}, "panda_tcp"),
        ({"wrist_camera_link": "camera_link"}, "camera_link"),
    ],
)
def test_description_with_wrong_name_is_a_clear_value_error(
    change: dict[str, object], bad_name: str
) -> None:
    broken = replace(PANDA, name="broken_panda", **change)  # type: ignore[arg-type]
    client = p.connect(p.DIRECT)
    try:
        with pytest.raises(
            ValueError, match=rf"robot 'broken_panda': no (joint|link) named '{bad_name}'"
        ):
            Arm(client, broken)
    finally:
        p.disconnect(physicsClientId=client)
    world = TabletopWorld(broken)
    try:
        with pytest.raises(ValueError, match=bad_name):
            world.build(parse_scene([{"kind": "zone", "color": "red", "position": [0.5, 0.0]}]))
    finally:
        world.close()


def test_gui_without_display_is_a_clear_runtime_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="DISPLAY"):
        TabletopWorld(gui=True)


def test_bowl_wall_is_closed_all_around_and_leans_outward() -> None:
    """Every compound part is kept (PyBullet caps compounds at 16 shapes) and the rim flares."""
    import math

    import pybullet as p

    from robot_llm.envs.world import TabletopWorld
    from robot_llm.tabletop.geometry import BOWL_FLARE, BOWL_HEIGHT, BOWL_WALL
    from robot_llm.tabletop.palette import BOWL_RADIUS
    from robot_llm.tabletop.scene import parse_scene

    world = TabletopWorld()
    try:
        world.build(
            parse_scene([{"id": "b", "kind": "bowl", "color": "cyan", "position": [0.5, 0]}])
        )
        body, c = world.bodies["b"], world.client
        r0 = BOWL_RADIUS["medium"]
        mid = r0 + BOWL_WALL / 2 + 0.5 * BOWL_HEIGHT * math.tan(BOWL_FLARE)
        for k in range(180):
            a = 2 * math.pi * k / 180
            x, y = 0.5 + mid * math.cos(a), mid * math.sin(a)
            hit = p.rayTest([x, y, 0.2], [x, y, 0.001], physicsClientId=c)[0]
            assert hit[0] == body, f"no wall at {math.degrees(a):.0f} degrees"

        # Near the rim the wall stands farther out than at its foot.
        def wall_x(z: float) -> float:
            hit = p.rayTest([0.5, 0, z], [0.5 + 0.2, 0, z], physicsClientId=c)[0]
            return float(hit[3][0])

        base_z = float(p.getBasePositionAndOrientation(body, physicsClientId=c)[0][2])
        assert wall_x(base_z + 0.018) > wall_x(base_z - 0.012) + 0.005
    finally:
        world.close()


def _egl_available() -> bool:
    try:
        TabletopWorld(renderer="egl").close()
    except RuntimeError:
        return False
    return True


def test_egl_and_tiny_renderers_show_the_same_scene_to_perception() -> None:
    """The EGL renderer (the bridge's render workers) is a different rasterizer: perception
    must find the same objects, in the same places, in its frames as in TinyRenderer's."""
    from robot_llm.perception import CameraPerceiver

    if not _egl_available():
        pytest.skip("PyBullet's EGL renderer does not load here (no libEGL)")
    spec = parse_scene({"objects": CONTAINERS})
    seen = {}
    for renderer in ("tiny", "egl"):
        world = TabletopWorld(renderer=renderer)
        try:
            world.build(spec)
            frame = world.render_main()
            seen[renderer] = CameraPerceiver().perceive(frame.to_camera_frame("main"))
        finally:
            world.close()
    tiny = {(o.kind, o.color): o.position for o in seen["tiny"].objects}
    egl = {(o.kind, o.color): o.position for o in seen["egl"].objects}
    assert set(tiny) == set(egl) == {("bowl", "blue"), ("tray", "gray"), ("block", "red")}
    for key, xyz in tiny.items():
        assert math.dist(xyz[:2], egl[key][:2]) < 0.005, key


def test_unknown_renderer_is_refused() -> None:
    message = "unknown renderer 'vulkan'; renderers are tiny, egl, auto"
    with pytest.raises(ValueError, match=message):
        TabletopWorld(renderer="vulkan")
