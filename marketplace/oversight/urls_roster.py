"""The operator's staff-roster import. Concatenated into the "oversight" namespace by ``urls.py``."""

from django.urls import path

from . import views_roster

urlpatterns = [
    path("operator/rosters/", views_roster.roster_import, name="roster-import"),
]
