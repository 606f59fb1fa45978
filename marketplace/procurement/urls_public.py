"""Public announcements and results, draw verification, the operator's check and the
regulator's lists. Concatenated into the "procurement" namespace by ``urls.py``."""

from django.urls import path

from . import views_public as views

urlpatterns = [
    path("projects/", views.announcements, name="announcements"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("projects/<int:pk>/result/", views.result, name="result"),
    path("projects/<int:pk>/verify/", views.verify, name="verify"),
    path("projects/<int:pk>/draw.json", views.draw_json, name="draw-json"),
    path("results/", views.results, name="results"),
    path("operator/projects/", views.check_queue, name="check-queue"),
    path("operator/projects/<int:pk>/check/", views.check, name="check"),
    path("regulator/projects/", views.regulator_projects, name="regulator-projects"),
    path("regulator/disputes/", views.disputes, name="disputes"),
    path("regulator/disputes/<int:pk>/decide/", views.dispute_decide, name="dispute-decide"),
    path("regulator/objections/", views.objections, name="objections"),
]
