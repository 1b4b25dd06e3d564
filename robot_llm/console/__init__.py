"""The operator console: a web page to watch, command and stop the arm (docs/console.md)."""
