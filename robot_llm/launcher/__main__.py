"""`python -m robot_llm.launcher NAME|FILE ...`: the same as `robot-llm launch NAME|FILE ...`."""

import sys

from robot_llm.launcher.cli import main

sys.exit(main())
