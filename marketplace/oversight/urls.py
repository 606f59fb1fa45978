"""Oversight pages: the regulator's queue and flags, rules, complaints and staff rosters."""

from . import urls_regulator, urls_roster

app_name = "oversight"

urlpatterns = urls_regulator.urlpatterns + urls_roster.urlpatterns

from . import urls_dashboards  # noqa: E402  (the regulator dashboards)

urlpatterns += urls_dashboards.urlpatterns
