"""The API's body parsers (DRF's, refusing NUL characters). Kept apart from ``api``: DRF imports
them while its views module loads, before drf-spectacular can be imported."""

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .middleware import contains_nul


class _RejectsNul:
    """A parser that refuses a body with a NUL character in any field name or value (uploaded
    files aside): PostgreSQL cannot compare or store such text, and a lookup by a code or a name
    holding one would raise a database error (500) instead of a validation error."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        if contains_nul(getattr(parsed, "data", parsed)):
            raise ParseError(_("请求内容中含有空字符（NUL），无法处理。"))
        return parsed


class JSONParser(_RejectsNul, parsers.JSONParser):
    pass


class FormParser(_RejectsNul, parsers.FormParser):
    pass


class MultiPartParser(_RejectsNul, parsers.MultiPartParser):
    pass
