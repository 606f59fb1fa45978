import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The first resolve imports every view module and Wagtail's admin, about a second of CPU: done
# here, each gunicorn worker pays it before it accepts a request (workers are restarted every
# --max-requests), instead of the visitor who happens to be its first.
get_resolver().resolve("/")
