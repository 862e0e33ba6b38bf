"""Config errors a human can act on: file, line, dot-path, expected vs found, a suggestion.

Every command that loads config turns a :class:`ConfigError` into exit code 78 (``EX_CONFIG``,
so systemd's ``RestartPreventExitStatus=78`` stops crash loops) and prints :meth:`format`.
"""

from __future__ import annotations

import dataclasses

EXIT_CONFIG = 78


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file.

    ``path`` is the dotted key path (``agents.defaults.contextPruning.ttll``; list items as
    ``models.providers.x.models.0.id``), or ``""`` for the document itself (a syntax error).
    """

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    expected: str | None = None
    found: str | None = None
    suggestion: str | None = None

    def format(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}{self.path or '<document>'}: {self.message}"
        if self.expected is not None:
            text += f" (expected {self.expected}"
            text += f", found {self.found})" if self.found is not None else ")"
        if self.suggestion:
            text += f"; did you mean `{self.suggestion}`?"
        return text


class ConfigError(Exception):
    """The config could not be loaded or written; ``issues`` says exactly why."""

    def __init__(self, issues: list[ConfigIssue], *, file: str | None = None) -> None:
        self.issues = list(issues)
        self.file = file
        super().__init__(self.format())

    def format(self) -> str:
        head = f"Invalid config at {self.file}:" if self.file else "Invalid config:"
        return "\n".join([head, *(f"- {issue.format()}" for issue in self.issues)])


class ConfigConflictError(Exception):
    """The file changed on disk since it was read; the write was refused, nothing was lost.

    Not a :class:`ConfigError`: the config is valid, the write raced another writer
    (commands exit 75, ``EX_TEMPFAIL``: try again after re-reading).
    """

EXIT_CONFLICT = 75
