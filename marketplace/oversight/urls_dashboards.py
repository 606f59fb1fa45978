"""The regulator dashboards; concatenated into the "oversight" namespace by ``urls.py``."""

from django.urls import path

from .dashboards import views

urlpatterns = [
    path("regulator/dashboards/", views.dashboard, name="dashboards"),
    path("regulator/dashboards/<slug:table>.<str:fmt>", views.export, name="dashboard-export"),
]
