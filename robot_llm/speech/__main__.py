"""`python -m robot_llm.speech [listen] --audio FILE ...`: the `robot-llm listen` command."""

import sys

from robot_llm.speech.cli import main

sys.exit(main())
