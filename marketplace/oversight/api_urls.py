from django.urls import path

from . import api

urlpatterns = [
    path("oversight/filed-reports/", api.FiledReportCreateView.as_view(), name="api-filed-report-create"),
]
