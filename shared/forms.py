"""The one way pages turn refusals into form errors: each message beside its field, the rest at the top.

A page catches the domain's errors (shared.errors.DomainError, whose FieldErrors carry JSON
pointers such as "/participant/email") and marshmallow's, and maps pointers to its own form fields;
what maps to no field is shown at the top of the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import ValidationError

from shared.errors import DomainError, field_errors_from_messages


@dataclass
class FormErrors:
    """Messages by form field (shown next to it) and messages for the whole form (shown at the top)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, message: str) -> None:
        if name is None:
            self.general.append(message)
        elif name in self.fields:
            self.fields[name] += " " + message
        else:
            self.fields[name] = message

    def add_validation(self, error: ValidationError, pointers: dict[str, str]) -> None:
        """marshmallow's messages, each next to the field its JSON pointer maps to (else at the top)."""
        for problem in field_errors_from_messages(error.messages):
            self.add(pointers.get(problem.pointer), problem.message)

    def add_domain(self, error: DomainError, pointers: dict[str, str]) -> None:
        """A domain error's field errors next to their fields, or its detail at the top."""
        placed = [problem for problem in error.errors if problem.pointer in pointers]
        for problem in placed:
            self.add(pointers[problem.pointer], problem.message)
        for problem in error.errors:
            if problem not in placed and problem.message != error.detail:
                self.add(None, problem.message)
        if not placed:
            self.add(None, error.detail)
