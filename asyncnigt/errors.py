"""The project's own error for bad input."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Invalid scenario input; ``path`` is the YAML path of the offending key."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}" if path else message)


class ScenarioWarning(UserWarning):
    """A valid scenario with a questionable combination (printed as one line by the CLI)."""
