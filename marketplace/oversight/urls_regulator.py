"""The regulator's risk queue, flags and complaints; the public rule pages and complaint form.
Concatenated into the "oversight" namespace by ``urls.py``."""

from django.urls import path

from . import views_regulator as views

urlpatterns = [
    path("regulator/risk/", views.risk_queue, name="risk-queue"),
    path("regulator/flags/", views.flags, name="flags"),
    path("regulator/flags/<int:pk>/", views.flag, name="flag"),
    path("regulator/complaints/", views.complaints, name="complaints"),
    path("rules/", views.rules, name="rules"),
    path("rules/<str:code>/", views.rule, name="rule"),
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/received/", views.complaint_received, name="complaint-received"),
]
