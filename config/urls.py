from django.urls import include, path

from marketplace.core.admin import site as admin_site

from . import views

# The admin (admin_site) is the operators' back office and requires a verified second factor.

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("marketplace.accounts.urls")),
    path("services/", include("marketplace.catalog.urls")),
    path("", include("marketplace.providers.urls")),
    path("", include("marketplace.procurement.urls")),
    path("", include("marketplace.oversight.urls")),
    path("", include("billing.urls")),
    path("api/", include("config.api_urls")),
    path("admin/", admin_site.urls),
]
