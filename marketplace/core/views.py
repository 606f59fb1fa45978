"""Helpers that keep views thin: run a service and turn domain errors into form errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages

from .errors import DomainError, ValidationFailed

T = TypeVar("T")


def _form_field(form: forms.Form, name: str | None) -> str | None:
    """The form input a service's error names. A form whose inputs are named differently from
    the service's arguments maps them with a ``service_field(name)`` method."""
    mapper = getattr(form, "service_field", None)
    if mapper is not None:
        name = mapper(name)
    return name if name in form.fields else None


def call_service(form: forms.Form, service: Callable[..., T], **kwargs: Any) -> T | None:
    """Call ``service``; on a ``DomainError`` attach its message to ``form`` and return None."""
    try:
        return service(**kwargs)
    except ValidationFailed as exc:
        for field, errors in exc.errors.items():
            for error in errors:
                form.add_error(_form_field(form, field), error)
    except DomainError as exc:
        form.add_error(_form_field(form, exc.field), exc.message)
    return None


def call_action(request, service: Callable[..., T], **kwargs: Any) -> T | None:
    """For button-only actions: a domain error becomes an error message on the next page."""
    try:
        return service(**kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
    return None
