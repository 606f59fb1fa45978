"""Oversight pages: the regulator's queue and flags, rules, complaints, staff rosters, cases and
inspections (with their public disclosure pages) and the regulator dashboards."""

from . import urls_cases, urls_dashboards, urls_regulator, urls_roster

app_name = "oversight"

urlpatterns = (
    urls_regulator.urlpatterns
    + urls_roster.urlpatterns
    + urls_cases.urlpatterns
    + urls_dashboards.urlpatterns
)
