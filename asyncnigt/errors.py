"""The project's own error for bad input."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Invalid scenario input; ``path`` is the YAML path of the offending key."""

    def __init__(self, path: str, message: str):
        self.path, self.message = _one_line(path), _one_line(message)
        super().__init__(f"{self.path}: {self.message}" if path else self.message)


def _one_line(text: str) -> str:
    """Escape control characters (a key or value may contain newlines): one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class ScenarioWarning(UserWarning):
    """A valid scenario with a questionable combination (printed as one line by the CLI)."""
