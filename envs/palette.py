"""Moved to `robot_llm.tabletop.palette`; this name stays for code that imports the old one."""

import sys

from robot_llm.tabletop import palette as _moved

sys.modules[__name__] = _moved
