"""API error handling: domain errors become 400 responses with a user-facing message; the
schema documents the error responses of every operation."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
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


class ErrorDetailSerializer(serializers.Serializer):
    """The body of a refusal: DRF's ``detail`` message, with a machine-readable ``code`` when the
    refusal has one (two-factor authentication pending)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


_BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input or a business rule refused the request: field name (or "
    "`non_field_errors`) to messages, with `code` for a refused business rule.",
)
_FORBIDDEN = OpenApiResponse(
    ErrorDetailSerializer,
    description="Not logged in, not acting for a role allowed here, no valid CSRF token, "
    "two-factor authentication pending, or the object is not the acting organisation's.",
)
_UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    ErrorDetailSerializer,
    description="A request body in a media type the operation does not take (or without one).",
)
_NOT_FOUND = OpenApiResponse(
    ErrorDetailSerializer,
    description="No such object visible to the user, no such page, or the acting organisation "
    "is not a registered intermediary.",
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses every operation can give, so clients
    (and the contract tests) know the 400/403/404/415 bodies as well as the success ones.

    403 is possible everywhere: the two-factor middleware refuses staff sessions that have not
    passed it on any API path. 400 where there is input (a body, query parameters, or a business
    rule behind a write) and 415 wherever a body can be sent; 404 where there is a path
    parameter, a page number, or an acting firm.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"403": _FORBIDDEN}
        if self.method not in ("GET", "HEAD"):
            errors["400"] = _BAD_REQUEST
            errors["415"] = _UNSUPPORTED_MEDIA_TYPE
        elif self._get_parameters_in("query"):
            errors["400"] = _BAD_REQUEST
        if self._get_parameters_in("path") or self._is_paginated() or hasattr(self.view, "acting_firm"):
            errors["404"] = _NOT_FOUND
        for code, response in sorted(errors.items()):
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _get_parameters_in(self, location: str) -> list:
        return [p for p in self._get_parameters() if p.get("in") == location]

    def _is_paginated(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
