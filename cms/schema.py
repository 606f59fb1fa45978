"""Keeps Wagtail's internal admin API (under /cms-admin/) out of the public OpenAPI schema."""

from cms.middleware import ADMIN_PREFIX


def without_editor_admin(endpoints, **kwargs):
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(ADMIN_PREFIX)]
