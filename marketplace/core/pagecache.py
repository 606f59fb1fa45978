"""The public page cache: what anonymous visitors of the busiest public pages are served from
the cache, and for how long. The whole policy is here; a view opts in with ``@public_page``
(the portal home, the announcements and the directory of intermediaries).

- **Who.** Only visitors without a session or pending messages (no session or messages
  cookie). Signing in sets the session cookie, so a signed-in user is never served a cached
  page, and nothing rendered for one is ever stored.
- **What.** GET (and HEAD, from the stored GET) answers with status 200, not streamed, that set
  no cookie of their own, say nothing private (``Cache-Control: private``/``no-store``/
  ``no-cache``) and queued no message.
- **Keyed on** the language the visitor gets (``LocaleMiddleware``: the language cookie, then
  ``Accept-Language``), the scheme, host, path and the whole query string, so filters, pages
  and languages never mix.
- **CSRF.** Every page carries the language switch's form and its CSRF token. The page is
  rendered for the cache with a placeholder in the token's place (``context_processor``) and
  each answer gets the visitor's own token put in, with the ``csrftoken`` cookie as usual: no
  stored page ever holds a token. A page whose view asked for a token itself is not stored.
- **How long.** ``PUBLIC_PAGE_CACHE_SECONDS`` (30 s by default, 0 turns the cache off), with no
  invalidation: a newly published project or firm reaches anonymous visitors of the
  announcements and the directory within that time (plus the one render that replaces the
  stale page); on the portal home, whose market figures and lists are themselves kept for a
  minute (``cms.selectors.HOME_CACHE_SECONDS``), within a minute and a half, and a portal
  notice within 30 s. Whoever publishes is signed in and sees the change at once; a notice or
  a registration window (counted in working days) loses nothing to half a minute, while at a
  few hundred requests a second those 30 s save thousands of renders.
- **No stampede.** When a page is older than its time, one request (holding a short lock)
  renders it anew while the others are still served the previous version, for at most
  ``STALE_GRACE_SECONDS`` more; when there is no page yet (a cold cache), the others wait for
  that one render (up to ``WAIT_SECONDS``) instead of rendering it too. A popular page costs
  one render per period, never a burst of them.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

# What the page holds in the CSRF token's place while it is rendered for the cache.
CSRF_PLACEHOLDER = "zjcs-csrf-token-placeholder-8d1f9c2e"
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
_RENDERING_ATTR = "_public_page_rendering"
STALE_GRACE_SECONDS = 15
# A render takes well under a second; under heavy load, a few. The lock lapses after this long
# (a request that died holding it), and waiting requests give up and render the page themselves.
LOCK_SECONDS = 10
WAIT_SECONDS = LOCK_SECONDS
WAIT_STEP_SECONDS = 0.05
KEY_PREFIX = "publicpage:v1"
_PRIVATE = ("private", "no-store", "no-cache")


def _now() -> float:
    return time.time()


def page_cache_seconds() -> int:
    return getattr(settings, "PUBLIC_PAGE_CACHE_SECONDS", 0)


def cacheable_request(request: HttpRequest) -> bool:
    """A GET or HEAD from a visitor with no session and no pending messages."""
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and CookieStorage.cookie_name not in cookies


def cache_key(request: HttpRequest) -> str:
    url = request.build_absolute_uri()
    digest = hashlib.sha256(url.encode()).hexdigest()
    return f"{KEY_PREFIX}:{translation.get_language()}:{digest}"


def _storable(request: HttpRequest, response: HttpResponse, asked_for_token: bool) -> bool:
    if request.method != "GET" or response.status_code != 200 or response.streaming:
        return False
    if response.cookies or asked_for_token:
        return False
    if any(word in response.get("Cache-Control", "") for word in _PRIVATE):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    messages = getattr(request, "_messages", None)
    return not (messages is not None and len(messages))


def _answer(request: HttpRequest, entry: tuple) -> HttpResponse:
    _fresh_until, status, headers, content = entry
    response = HttpResponse(content.replace(_PLACEHOLDER_BYTES, get_token(request).encode()), status=status)
    for name, value in headers:
        response[name] = value
    return response


def _wait_for(key: str, lock: str) -> tuple | None:
    """The page another request is rendering, once it is stored; None if that request gives up
    (its page was not storable) or takes longer than ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP_SECONDS)
        found = cache.get_many([key, lock])
        if key in found:
            return found[key]
        if lock not in found:
            return None
    return None


def _render(
    view: Callable[..., HttpResponse], request: HttpRequest, args, kwargs
) -> tuple[HttpResponse, bool]:
    """Run the view with the token placeholder; say whether the view asked for a real token."""
    needed_before = request.META.get("CSRF_COOKIE_NEEDS_UPDATE", False)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
    setattr(request, _RENDERING_ATTR, True)
    try:
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()  # a TemplateResponse (Wagtail's pages) renders while the flag is on
    finally:
        delattr(request, _RENDERING_ATTR)
        asked = request.META["CSRF_COOKIE_NEEDS_UPDATE"]
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = needed_before or asked
    return response, asked


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous visitors from the public page cache (the policy above)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seconds = page_cache_seconds()
        if seconds <= 0 or not cacheable_request(request):
            return view(request, *args, **kwargs)
        key = cache_key(request)
        lock = f"{key}:lock"
        entry = cache.get(key)
        if entry is not None and entry[0] > _now():
            return _answer(request, entry)
        # Missing or stale: one request renders the page; the others are served the stale page
        # meanwhile or, when there is none, wait a moment for the new one.
        locked = cache.add(lock, 1, LOCK_SECONDS)
        if not locked:
            if entry is None:
                entry = _wait_for(key, lock)
            if entry is not None:
                return _answer(request, entry)
        try:
            response, asked_for_token = _render(view, request, args, kwargs)
            if _storable(request, response, asked_for_token):
                headers = [
                    (name, value) for name, value in response.items() if name.lower() != "content-length"
                ]
                entry = (_now() + seconds, response.status_code, headers, response.content)
                cache.set(key, entry, seconds + STALE_GRACE_SECONDS)
        finally:
            if locked:
                cache.delete(lock)
        if not response.streaming and _PLACEHOLDER_BYTES in response.content:
            response.content = response.content.replace(_PLACEHOLDER_BYTES, get_token(request).encode())
        return response

    return wrapper


def context_processor(request: HttpRequest) -> dict[str, str]:
    """The CSRF token's placeholder while a page is rendered for the cache (this processor
    comes after Django's own ``csrf`` one, so its ``csrf_token`` wins); nothing otherwise."""
    if getattr(request, _RENDERING_ATTR, False):
        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}
