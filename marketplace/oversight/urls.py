"""Oversight pages: the regulator's queue and flags, rules, complaints and staff rosters."""

from . import urls_cases, urls_regulator, urls_roster

app_name = "oversight"

urlpatterns = urls_regulator.urlpatterns + urls_roster.urlpatterns + urls_cases.urlpatterns
