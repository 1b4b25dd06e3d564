"""Scene files: YAML/JSON round trips, one-line errors for bad input, and worlds built from them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pybullet as p
import pytest

from robot_llm.envs.world import TabletopWorld
from robot_llm.tabletop.geometry import BOWL_FLOOR, TRAY_FLOOR, ZONE_THICKNESS
from robot_llm.tabletop.palette import BLOCK_EDGE
from robot_llm.tabletop.predicates import bottom, in_bowl, in_tray, in_zone, on_block, top
from robot_llm.tabletop.scene import (
    ObjectSpec,
    SceneError,
    SceneSpec,
    bundled_scenes,
    load_scene,
    parse_scene,
    save_scene,
    with_positions,
)

WriteFile = Callable[[str, "str | bytes"], Path]

# A scene written by hand, as a user would: every kind, stacking with a bare `on` key, yaw in
# degrees, one object listed before its support, and repeated colors that need automatic ids.
HAND_WRITTEN_YAML = """\
name: demo
description: every kind of object
objects:
  - {id: top, kind: block, color: blue, size: small, position: [0.42, 0.12], on: base}
  - id: base
    kind: block
    color: red
    position: [0.42, 0.12]
    yaw: 30
  - {kind: block, color: green, position: [0.36, -0.05]}
  - {kind: block, color: green, size: large, position: [0.44, -0.05]}
  - {kind: block, color: green, size: small, position: [0.36, 0.02]}
  - {id: bowl, kind: bowl, color: yellow, size: large, position: [0.60, 0.12]}
  - {id: in_bowl, kind: block, color: pink, position: [0.60, 0.12], on: bowl}
  - {id: zone, kind: zone, color: cyan, position: [0.62, -0.16]}
  - {id: on_zone, kind: block, color: orange, position: [0.62, -0.16], yaw: -20, on: zone}
  - {id: tray, kind: tray, color: gray, size: small, position: [0.42, -0.21], yaw: 90}
  - {id: in_tray, kind: block, color: purple, position: [0.42, -0.21], on: tray}
"""


@pytest.fixture
def demo_file(write_file: WriteFile) -> Path:
    return write_file("demo.yaml", HAND_WRITTEN_YAML)


def test_hand_written_yaml_loads_with_ids_supports_and_yaw(demo_file: Path) -> None:
    scene = load_scene(demo_file)
    assert scene.name == "demo"
    assert scene.ids == (
        "top",
        "base",
        "green_block",
        "green_block_2",
        "green_block_3",
        "bowl",
        "in_bowl",
        "zone",
        "on_zone",
        "tray",
        "in_tray",
    )
    assert scene.get("top").on == "base"  # a bare YAML `on` key is the field, not a boolean
    assert scene.get("in_bowl").on == "bowl"
    assert scene.get("base").on is None
    assert scene.get("base").yaw == pytest.approx(math.radians(30))
    assert scene.get("base").size == "medium"  # the default size
    assert scene.get("green_block_2").size == "large"
    assert scene.get("top").position == (0.42, 0.12)


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_round_trip_gives_equal_scene(demo_file: Path, tmp_path: Path, suffix: str) -> None:
    first = load_scene(demo_file)
    out = tmp_path / f"saved{suffix}"
    save_scene(first, out)
    second = load_scene(out)
    assert second == first
    assert second.ids == first.ids
    assert [o.on for o in second] == [o.on for o in first]
    if suffix == ".json":
        data = json.loads(out.read_text())
        assert data["objects"][0]["id"] == "top"
        assert data["objects"][1]["yaw"] == pytest.approx(30.0)  # saved in degrees
    # Saving the reloaded scene again writes the same bytes: the format is stable.
    again = tmp_path / f"again{suffix}"
    save_scene(second, again)
    assert again.read_text() == out.read_text()


def test_round_trip_of_generated_positions_is_within_a_micrometre(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    objs = tuple(
        ObjectSpec(
            f"b{i}",
            "block",
            "red",
            "small",
            (0.35 + 0.08 * i + float(rng.uniform(0, 0.01)), float(rng.uniform(-0.2, 0.2))),
            float(rng.uniform(-math.pi, math.pi)),
        )
        for i in range(4)
    )
    scene = SceneSpec(objs)
    for name in ("gen.yaml", "gen.json"):
        save_scene(scene, tmp_path / name)
        back = load_scene(tmp_path / name)
        assert back.ids == scene.ids
        for a, b in zip(scene, back, strict=True):
            assert np.allclose(a.position, b.position, atol=1e-6)
            assert math.isclose(a.yaw, b.yaw, abs_tol=1e-7)


def test_list_and_mapping_forms_are_equivalent(write_file: WriteFile) -> None:
    objects = [
        {"kind": "block", "color": "red", "position": [0.4, 0.0]},
        {"kind": "bowl", "color": "blue", "position": [0.6, 0.1]},
    ]
    as_list = load_scene(write_file("list.json", json.dumps(objects)))
    as_map = load_scene(write_file("map.json", json.dumps({"objects": objects})))
    yaml_list = load_scene(
        write_file(
            "list.yaml",
            "- {kind: block, color: red, position: [0.4, 0.0]}\n"
            "- {kind: bowl, color: blue, position: [0.6, 0.1]}\n",
        )
    )
    assert as_list == as_map == yaml_list
    assert as_list.ids == ("red_block", "blue_bowl")


def test_unnamed_objects_never_take_an_id_the_file_names(write_file: WriteFile) -> None:
    scene = load_scene(
        write_file(
            "ids.yaml",
            "- {kind: block, color: red, position: [0.4, 0.0]}\n"
            "- {id: red_block, kind: block, color: red, position: [0.5, 0.0]}\n"
            "- {kind: block, color: red, position: [0.6, 0.0]}\n",
        )
    )
    assert len(set(scene.ids)) == 3
    assert scene.get("red_block").position == (0.5, 0.0)


def test_with_positions_moves_objects_and_revalidates() -> None:
    scene = parse_scene(
        [
            {"id": "a", "kind": "block", "color": "red", "position": [0.4, 0.0]},
            {"id": "b", "kind": "block", "color": "blue", "position": [0.5, 0.0]},
        ]
    )
    moved = with_positions(scene, {"a": (0.4, 0.2)})
    assert moved.get("a").position == (0.4, 0.2)
    assert moved.get("b").position == (0.5, 0.0)
    with pytest.raises(SceneError, match="overlaps"):
        with_positions(scene, {"a": (0.5, 0.01)})


# -- bad input ------------------------------------------------------------------------------------

BLOCK = "{kind: block, color: red, position: [0.5, 0.0]}"


def case(name: str, text: str, *parts: str) -> object:
    """A bad scene (YAML text) and what its one-line message must name besides the file."""
    return pytest.param(text, parts, id=name)


def obj(fields: str) -> str:
    return "- {" + fields + "}\n"


BAD_SCENES = [
    case(
        "unknown kind",
        obj("kind: cone, color: red, position: [0.5, 0]"),
        "object 0",
        "'kind'",
        "cone",
    ),
    case(
        "unknown color",
        f"- {BLOCK}\n" + obj("kind: block, color: mauve, position: [0.4, 0]"),
        "object 1",
        "'color'",
        "mauve",
        "red",
    ),
    case(
        "unknown size",
        obj("kind: block, color: red, size: huge, position: [0.5, 0]"),
        "object 0",
        "'size'",
        "huge",
    ),
    case("missing kind", obj("color: red, position: [0.5, 0]"), "object 0", "missing field 'kind'"),
    case(
        "missing color",
        obj("id: x, kind: block, position: [0.5, 0]"),
        "object 0 ('x')",
        "missing field 'color'",
    ),
    case(
        "missing position", obj("kind: block, color: red"), "object 0", "missing field 'position'"
    ),
    case(
        "position scalar",
        obj("kind: block, color: red, position: 0.5"),
        "object 0",
        "'position'",
        "[x, y]",
    ),
    case(
        "position mapping",
        obj("kind: block, color: red, position: {x: 0.5, y: 0}"),
        "object 0",
        "'position'",
    ),
    case(
        "position of 3",
        obj("kind: block, color: red, position: [0.5, 0, 0.1]"),
        "object 0",
        "'position'",
    ),
    case(
        "position of 1", obj("kind: block, color: red, position: [0.5]"), "object 0", "'position'"
    ),
    case(
        "position string",
        obj("kind: block, color: red, position: ['0.5', 0]"),
        "object 0",
        "'position'",
    ),
    case(
        "position bool",
        obj("kind: block, color: red, position: [true, 0]"),
        "object 0",
        "'position'",
    ),
    case(
        "position NaN",
        obj("kind: block, color: red, position: [.nan, 0]"),
        "object 0",
        "'position'",
    ),
    case(
        "position inf",
        obj("kind: block, color: red, position: [0.5, -.inf]"),
        "object 0",
        "'position'",
    ),
    case(
        "yaw NaN",
        obj("kind: block, color: red, position: [0.5, 0], yaw: .nan"),
        "object 0",
        "'yaw'",
    ),
    case(
        "yaw string",
        obj("kind: block, color: red, position: [0.5, 0], yaw: left"),
        "object 0",
        "'yaw'",
    ),
    case(
        "duplicate id",
        obj("id: a, kind: block, color: red, position: [0.4, 0]")
        + obj("id: a, kind: block, color: red, position: [0.6, 0]"),
        "object 1 ('a')",
        "'id'",
        "duplicate",
    ),
    case(
        "empty id", obj("id: '', kind: block, color: red, position: [0.4, 0]"), "object 0", "'id'"
    ),
    case(
        "unknown field",
        obj("kind: block, color: red, position: [0.5, 0], mass: 2"),
        "object 0",
        "'mass'",
    ),
    case(
        "misspelled field",
        obj("kind: block, colour: red, position: [0.5, 0]"),
        "object 0",
        "'colour'",
    ),
    case(
        "overlap",
        f"- {BLOCK}\n" + obj("kind: block, color: blue, position: [0.52, 0.01]"),
        "'blue_block'",
        "'position'",
        "overlaps",
        "'red_block'",
    ),
    case(
        "containers overlap",
        obj("kind: bowl, color: red, position: [0.5, 0]")
        + obj("kind: tray, color: blue, position: [0.5, 0.15]"),
        "'blue_tray'",
        "'position'",
        "overlaps",
        "'red_bowl'",
    ),
    case(
        "outside x",
        obj("kind: block, color: red, position: [0.9, 0]"),
        "'red_block'",
        "'position'",
        "outside the workspace",
    ),
    case(
        "outside y",
        obj("kind: block, color: red, position: [0.5, -0.5]"),
        "'red_block'",
        "'position'",
        "outside the workspace",
    ),
    case(
        "edge outside",
        obj("kind: block, color: red, position: [0.69, 0]"),
        "'red_block'",
        "'position'",
        "outside the workspace",
    ),
    case(
        "on a missing id",
        f"- {BLOCK}\n" + obj("id: b, kind: block, color: blue, position: [0.5, 0], on: nope"),
        "'b'",
        "'on'",
        "'nope'",
    ),
    case(
        "on a number", obj("kind: block, color: red, position: [0.5, 0], on: 3"), "object 0", "'on'"
    ),
    case(
        "support cycle",
        obj("id: a, kind: block, color: red, position: [0.5, 0], on: b")
        + obj("id: b, kind: block, color: blue, position: [0.5, 0], on: a"),
        "'a'",
        "'on'",
        "cycle",
    ),
    case(
        "on itself", obj("id: a, kind: block, color: red, position: [0.5, 0], on: a"), "'a'", "'on'"
    ),
    case(
        "bowl on a block",
        f"- {BLOCK}\n" + obj("id: b, kind: bowl, color: blue, position: [0.5, 0], on: red_block"),
        "'b'",
        "'on'",
        "bowl cannot rest on a block",
    ),
    case(
        "not over support",
        f"- {BLOCK}\n" + obj("id: b, kind: block, color: blue, position: [0.6, 0], on: red_block"),
        "'b'",
        "'position'",
        "not over its support",
    ),
    case("object not a mapping", "- [block, red]\n", "object 0", "mapping"),
    case("top level scalar", "42\n", "top level", "list"),
    case("empty file", "", "top level"),
    case("no objects", "[]\n", "top level", "no objects"),
    case("top level misspelled", f"obj:\n- {BLOCK}\n", "top level", "'obj'"),
    case("top level without objects", "name: x\n", "top level", "'objects'"),
]


def assert_one_line(err: SceneError, *parts: str) -> str:
    message = str(err)
    assert "\n" not in message and message.strip() == message, repr(message)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


@pytest.mark.parametrize(("text", "parts"), BAD_SCENES)
def test_bad_scene_gives_one_line_error(
    write_file: WriteFile, text: str, parts: tuple[str, ...]
) -> None:
    path = write_file("bad.yaml", text)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    message = assert_one_line(info.value, *parts)
    assert message.startswith(f"{path}: ")
    assert isinstance(info.value, ValueError)  # callers may catch ValueError


def test_bad_json_objects_name_file_object_and_field(write_file: WriteFile) -> None:
    path = write_file(
        "bad.json",
        json.dumps([{"kind": "block", "color": "red", "position": [0.5, 0.0, 0.0]}]),
    )
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert_one_line(info.value, str(path), "object 0", "'position'")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert_one_line(info.value, str(path), "not found")


@pytest.mark.parametrize(
    ("name", "content"),
    [("latin1.yaml", "- {kind: block, color: r\xe9d}".encode("latin-1")), ("folder", None)],
)
def test_unreadable_file(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert_one_line(info.value, str(path), "cannot read")


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("syntax.yaml", "- kind: block\n  color: [red\n- kind: bowl\n", "line"),
        ("tabs.yaml", "- kind: block\n\tcolor: red\n", "line"),
        ("syntax.json", '[{"kind": "block",}]', "line 1"),
    ],
)
def test_syntax_error_is_one_line_with_position(
    write_file: WriteFile, name: str, text: str, where: str
) -> None:
    path = write_file(name, text)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert_one_line(info.value, str(path), "not valid", where)


def test_scene_built_in_code_is_validated_too() -> None:
    a = ObjectSpec("a", "block", "red", position=(0.5, 0.0))
    with pytest.raises(SceneError, match=r"object 'a': field 'id': duplicate id"):
        SceneSpec((a, a))
    with pytest.raises(SceneError, match=r"object 'b': field 'on'.*'zzz'"):
        SceneSpec((a, ObjectSpec("b", "block", "red", position=(0.5, 0.0), on="zzz")))
    with pytest.raises(SceneError, match="object 'c'"):
        SceneSpec((ObjectSpec("c", "block", "chartreuse"),))
    with pytest.raises(SceneError, match=r"object 'd': field 'position'.*outside"):
        SceneSpec((ObjectSpec("d", "tray", "red", "large", position=(0.5, 0.2)),))


def test_touching_objects_do_not_overlap() -> None:
    edge = BLOCK_EDGE["medium"]
    scene = parse_scene(
        [
            {"kind": "block", "color": "red", "position": [0.5, 0.0]},
            {"kind": "block", "color": "red", "position": [0.5 + edge, 0.0]},
        ]
    )
    assert len(scene) == 2


def test_yawed_block_needs_more_room() -> None:
    # Axis-aligned, these two blocks have a 5 mm gap; turned 45 degrees, their corners meet.
    gap = BLOCK_EDGE["medium"] + 0.005
    objects = [
        {"id": "a", "kind": "block", "color": "red", "position": [0.5, 0.0]},
        {"id": "b", "kind": "block", "color": "red", "position": [0.5 + gap, 0.0]},
    ]
    parse_scene(objects)
    objects[1]["yaw"] = 45
    with pytest.raises(SceneError, match=r"'b'.*overlaps object 'a'"):
        parse_scene(objects)


# -- worlds built from scene files ----------------------------------------------------------------


def test_world_from_scene_file_places_exactly_those_objects(
    demo_file: Path, make_world: Callable[..., TabletopWorld]
) -> None:
    scene = load_scene(demo_file)
    world = make_world(scene)
    states = world.object_states()
    client = world.client
    assert tuple(states) == scene.ids
    assert set(world.bodies) == set(scene.ids)
    # Table, floor, robot and one body per object: nothing else is in the simulation.
    assert p.getNumBodies(physicsClientId=client) == 3 + len(scene)
    for spec in scene:
        s = states[spec.id]
        assert s.spec == spec
        xy_error = np.hypot(*(s.position[:2] - np.asarray(spec.position)))
        assert xy_error < 0.003, f"{spec.id} settled {xy_error * 1000:.1f} mm from its position"
        yaw_error = math.remainder(s.yaw - spec.yaw, math.pi / 2 if spec.kind != "bowl" else 1e9)
        assert abs(yaw_error) < math.radians(1.0), spec.id
        assert s.tilt < math.radians(1.0), spec.id

    for oid in ("green_block", "green_block_2", "green_block_3", "base"):
        assert abs(bottom(states[oid])) < 0.002, f"{oid} does not rest on the table"
    assert abs(bottom(states["top"]) - top(states["base"])) < 0.002
    assert on_block(states["top"], states["base"])
    # A block `on` a bowl rests on the bowl's floor, inside it.
    bowl = states["bowl"]
    assert abs(bottom(states["in_bowl"]) - (bottom(bowl) + BOWL_FLOOR)) < 0.002
    assert in_bowl(states["in_bowl"], bowl)
    assert world.contacts("in_bowl") == {"bowl"}
    assert abs(bottom(states["on_zone"]) - (bottom(states["zone"]) + ZONE_THICKNESS)) < 0.002
    assert in_zone(states["on_zone"], states["zone"])
    assert abs(bottom(states["in_tray"]) - (bottom(states["tray"]) + TRAY_FLOOR)) < 0.002
    assert in_tray(states["in_tray"], states["tray"])


def test_rebuilding_replaces_the_previous_scene(make_world: Callable[..., TabletopWorld]) -> None:
    world = make_world(
        [
            {"kind": "block", "color": "red", "position": [0.4, 0.0]},
            {"kind": "bowl", "color": "blue", "position": [0.6, 0.1]},
        ]
    )
    world.build(
        parse_scene([{"id": "only", "kind": "zone", "color": "gray", "position": [0.5, 0]}])
    )
    assert list(world.object_states()) == ["only"]
    assert p.getNumBodies(physicsClientId=world.client) == 4


# -- the documentation and the shipped examples ---------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scenes.md"


def doc_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_docs_examples_load_with_the_ids_the_docs_state(write_file: WriteFile) -> None:
    (yaml_text,) = doc_blocks("yaml")
    (json_text,) = doc_blocks("json")
    from_yaml = load_scene(write_file("doc.yaml", yaml_text))
    from_json = load_scene(write_file("doc.json", json_text))
    assert from_yaml.ids == ("red_block", "blue_block", "green_bowl", "gray_tray")
    assert from_json.ids == ("red_block", "blue_block", "green_bowl")
    assert from_json.name == "two blocks and a bowl"
    assert from_yaml.get("gray_tray").yaw == pytest.approx(math.pi / 2)
    assert from_yaml.objects[:3] == from_json.objects


def test_docs_error_examples_match_real_messages(write_file: WriteFile) -> None:
    (errors,) = doc_blocks("text")
    lines = [line for line in errors.splitlines() if line.startswith("robot-llm: error: ")]
    assert len(lines) >= 10
    documented = {line.split(": ")[2] for line in lines}
    # Re-create a few of the documented files and compare the messages word for word.
    cases = {
        "overlap.yaml": "- {kind: block, color: red, position: [0.45, 0.0]}\n"
        "- {kind: block, color: blue, position: [0.47, 0.01]}\n",
        "on.yaml": "- {id: cup, kind: bowl, color: red, position: [0.45, 0.0]}\n"
        "- {kind: block, color: blue, position: [0.45, 0.0], on: mug}\n",
        "dup.yaml": "- {id: a, kind: block, color: red, position: [0.45, 0.0]}\n"
        "- {id: a, kind: block, color: blue, position: [0.55, 0.0]}\n",
    }
    for name, text in cases.items():
        assert name in documented
        with pytest.raises(SceneError) as info:
            load_scene(write_file(name, text))
        message = str(info.value).replace(str(Path(write_file(name, text)).parent) + "/", "")
        assert f"robot-llm: error: {message}" in lines


def test_yaml_reads_on_and_yes_as_plain_strings(write_file: WriteFile) -> None:
    scene = load_scene(
        write_file(
            "words.yaml",
            "- {id: 'no', kind: block, color: red, position: [0.45, 0.0]}\n"
            "- {id: yes, kind: block, color: blue, position: [0.45, 0.0], on: 'no'}\n"
            "- {id: off, kind: block, color: red, position: [0.6, 0.0]}\n",
        )
    )
    assert scene.ids == ("no", "yes", "off")
    assert scene.get("yes").on == "no"


def test_bundled_scenes_load_round_trip_and_build(
    tmp_path: Path, make_world: Callable[..., TabletopWorld]
) -> None:
    scenes = bundled_scenes()
    assert scenes, "no example scenes are shipped"
    world = make_world(load_scene(next(iter(scenes.values()))))
    for name, path in scenes.items():
        scene = load_scene(path)
        save_scene(scene, tmp_path / f"{name}.json")
        assert load_scene(tmp_path / f"{name}.json") == scene
        world.build(scene)
        states = world.object_states()
        assert tuple(states) == scene.ids
        for spec in scene:
            error = np.hypot(*(states[spec.id].position[:2] - np.asarray(spec.position)))
            assert error < 0.003, f"{name}: {spec.id} is {error * 1000:.1f} mm off"
