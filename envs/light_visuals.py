"""A robot URDF drawn with its collision shapes: the same arm, a fraction of the triangles.

An arm's visual meshes are detailed (the Panda's are about 120 000 triangles) and a renderer
transforms every one of them for every image, whatever the camera sees. Its collision meshes are
a few hundred triangles per link and follow the same surfaces closely. `light_visuals_urdf`
writes a copy of a URDF whose links show their collision geometry (with the visual's material),
for renderers that must be fast more than exact: the kinematics, joints and names are the
file's own. Links without collision geometry keep their visuals.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "robot-llm-light-visuals"


def light_visuals_urdf(urdf: str | Path) -> str:
    """The path of a copy of `urdf` whose links are drawn with their collision geometry
    (written once per source file and content, under the system's temporary folder)."""
    source = Path(urdf).resolve()
    text = source.read_bytes()
    digest = hashlib.sha256(str(source).encode() + text).hexdigest()[:16]
    target = CACHE / f"{source.stem}-light-{digest}.urdf"
    if target.is_file():
        return str(target)
    root = ET.fromstring(text)
    for link in root.iter("link"):
        collisions = link.findall("collision")
        visuals = link.findall("visual")
        if not collisions or not visuals:
            continue
        material = visuals[0].find("material")
        for v in visuals:
            link.remove(v)
        for c in collisions:
            shown = ET.SubElement(link, "visual")
            for child in c:
                if child.tag in ("origin", "geometry"):
                    shown.append(copy.deepcopy(child))
            if material is not None:
                shown.append(copy.deepcopy(material))
    for mesh in root.iter("mesh"):
        filename = mesh.get("filename")
        if filename:
            mesh.set("filename", _absolute(filename, source.parent))
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
    ET.ElementTree(root).write(partial, encoding="utf-8", xml_declaration=True)
    partial.replace(target)  # whole or absent, even with several processes writing it
    return str(target)


def _absolute(filename: str, folder: Path) -> str:
    """A mesh reference as an absolute path: "package://x" and relative names are taken from
    the URDF's own folder, as PyBullet resolves them."""
    name = filename.removeprefix("package://").removeprefix("file://")
    path = Path(name)
    return str(path if path.is_absolute() else (folder / path).resolve())
