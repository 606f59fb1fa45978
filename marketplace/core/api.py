"""API error handling: domain errors become 400 responses with a user-facing message."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, ValidationFailed


def exception_handler(exc, context):
    if isinstance(exc, ValidationFailed):
        errors = {field or "non_field_errors": [str(m) for m in msgs] for field, msgs in exc.errors.items()}
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        key = exc.field or "non_field_errors"
        return Response({key: [str(exc.message)], "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
