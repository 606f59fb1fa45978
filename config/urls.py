from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

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
    path("", include("search.urls")),
    path("api/", include("config.api_urls")),
    path("admin/", admin_site.urls),
    # The portal (cms): its feeds and sitemap, the editors' admin, documents, then Wagtail's
    # catch-all page route, which must stay last so it never shadows the routes above.
    path("", include("cms.urls")),
    path("cms-admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("", include(wagtail_urls)),
]

handler404 = "config.views.page_not_found"
