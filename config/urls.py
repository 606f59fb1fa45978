from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from . import views

# The Django admin is for operators only and requires a verified second factor.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("marketplace.accounts.urls")),
    path("services/", include("marketplace.catalog.urls")),
    path("", include("marketplace.providers.urls")),
    path("api/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
