"""The project's errors and exit codes, defined once.

Two kinds of error, kept apart because the command line treats them differently:

- `InputError`: what a user gave cannot be used (a scene file, an argument, a command, a network
  message, a model path). The CLI prints its message as one line and exits `BAD_INPUT`; nothing
  has moved or been written.
- `Fault`: something failed that the user did not get wrong (a driver, a model, a lost link).
  The CLI shows the traceback (one line with `--no-traceback`) and exits `FAILED`. Any other
  exception is a bug and is shown the same way.

Both derive from `RobotLLMError`; `InputError` is also a `ValueError` and `Fault` a
`RuntimeError`, so code that caught those before keeps working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final


class RobotLLMError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(RobotLLMError, ValueError):
    """Input that cannot be used; the message is one line that says what and where."""


class SchemaError(InputError):
    """A plan, scene or frame does not match its schema; the message says where."""


class Fault(RobotLLMError, RuntimeError):
    """A failure that is not the user's input: hardware, a model, a connection."""


# A path the user named that cannot be read or written is bad input, like a bad file's content.
PATH_ERRORS: Final = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def first_line(err: BaseException) -> str:
    """An error as the one line the CLI prints."""
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__


def read_user_file(path: Path, error: type[InputError] = InputError) -> str:
    """The text of a file a user named; `error` (one line, naming the file) when it cannot be
    read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read: {err}") from None


# Exit codes of every `robot-llm` command (docs/commands.md).
OK: Final = 0  # done
FAILED: Final = 1  # the run, episode or check failed, was stopped, or a fault
BAD_INPUT: Final = 2  # one line on stderr says what was wrong
CLARIFY: Final = 3  # the planner asks a question (plan, run, repl --once)
REFUSED: Final = 4  # the planner's safety gate refused the command
REPEAT: Final = 5  # speech: nothing usable was heard, say it again (listen)
INTERRUPTED: Final = 130  # Ctrl-C
