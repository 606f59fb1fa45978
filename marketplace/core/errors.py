"""Domain errors. Services raise them; views and the API turn them into messages for the user."""

from django.core.exceptions import PermissionDenied


class DomainError(Exception):
    """A business rule refused the request. The message is user-facing (translated)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:  # lazy translations render in the active language
        return str(self.message)


class ValidationFailed(DomainError):
    """Several field errors at once: ``errors`` maps a field name (or ``None``) to messages."""

    def __init__(self, errors: dict[str | None, list[str]]):
        first = next(iter(errors.values()))[0]
        super().__init__(first)
        self.errors = errors


class NotAllowed(PermissionDenied):
    """The actor can see the object but may not do this to it (HTTP 403)."""
