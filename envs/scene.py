"""Moved to `robot_llm.tabletop.scene`; this name stays for code that imports the old one."""

import sys

from robot_llm.tabletop import scene as _moved

sys.modules[__name__] = _moved
