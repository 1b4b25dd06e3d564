"""robot-llm: natural-language control of robot arms in PyBullet and on hardware.

Heavy modules (pybullet, torch, transformers, cv2) load lazily in the code paths that use them,
so importing this package and running `robot-llm --help` stays fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("robot-llm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
