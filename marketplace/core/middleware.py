import ipaddress
import uuid

from .context import client_ip_var, request_id_var


class ClientAddressMiddleware:
    """Behind a reverse proxy, ``REMOTE_ADDR`` is the proxy's address; login throttling, the
    audit log and the applications' network addresses need the visitor's. When the request comes
    from an address in ``TRUSTED_PROXY_IPS`` and carries ``X-Real-IP`` (nginx:
    ``proxy_set_header X-Real-IP $remote_addr``), that address replaces ``REMOTE_ADDR``. The
    header is ignored from anyone else, so a visitor cannot choose the address recorded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        if request.META.get("REMOTE_ADDR", "") in settings.TRUSTED_PROXY_IPS:
            claimed = request.META.get("HTTP_X_REAL_IP", "").strip()
            try:
                address = str(ipaddress.ip_address(claimed))
            except ValueError:
                address = ""
            if address:
                request.META["REMOTE_ADDR"] = address
        return self.get_response(request)


class RequestIdMiddleware:
    """Gives every request an id (or keeps the proxy's X-Request-ID) for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        # Printable ASCII only: the id is stored with audit events (PostgreSQL refuses NUL in text).
        rid = (
            incoming[:64] if incoming.isascii() and incoming.isprintable() and incoming else uuid.uuid4().hex
        )
        request.request_id = rid
        token = request_id_var.set(rid)
        ip_token = client_ip_var.set(request.META.get("REMOTE_ADDR", ""))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = rid
        return response


# Everything the site loads is served from our own origin (no CDN), so the policy can be strict.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The API docs page and the admin bring their own inline scripts.
        # The portal's editor admin (/cms-admin/) sets its own, see cms/middleware.py.
        if not request.path.startswith(("/api/docs", "/admin/", "/cms-admin/")):
            response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


NUL = "\x00"


def contains_nul(value) -> bool:
    """Whether a string, or any key or item of a dict, list or QueryDict, holds a NUL character.
    PostgreSQL cannot store or even compare text with one, so such input must stop here."""
    if isinstance(value, str):
        return NUL in value
    if hasattr(value, "lists"):  # QueryDict, MultiValueDict
        return any(contains_nul(key) or contains_nul(items) for key, items in value.lists())
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class RejectNulMiddleware:
    """A NUL character in the path names no page (404); in the query string it is refused
    (400) before any view passes it to the database, where it would raise an error (500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import Http404, HttpResponseBadRequest, JsonResponse
        from django.utils.translation import gettext

        if NUL in request.path:
            raise Http404
        if contains_nul(request.GET):
            message = gettext("请求参数中含有空字符（NUL），无法处理。")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
