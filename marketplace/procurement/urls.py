"""Procurement pages: public announcements and results, and the owners' and firms' workspace."""

from . import urls_public, urls_workspace

app_name = "procurement"

urlpatterns = urls_public.urlpatterns + urls_workspace.urlpatterns
