"""The site's routes plus the procurement API under /api/, so that the API tests run whether or
not the project's API urlconf includes it yet (and never mount it twice: the schema would then
list every operation twice)."""

from django.urls import get_resolver, include, path

from config.urls import urlpatterns as site_urlpatterns

urlpatterns = list(site_urlpatterns)
if "api-project-list" not in get_resolver("config.urls").reverse_dict:
    urlpatterns.append(path("api/", include("marketplace.procurement.api_urls")))
