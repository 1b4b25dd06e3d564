"""`python -m robot_llm.bench ...`: the same as `robot-llm bench ...`."""

import sys

from robot_llm.bench.cli import main

sys.exit(main())
