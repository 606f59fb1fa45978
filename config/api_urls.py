from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketplace.catalog import api as catalog_api
from marketplace.oversight.ocds import api as ocds_api
from marketplace.providers import api as providers_api
from search import api as search_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Catalogue
    path("service-types/", catalog_api.ServiceTypeListView.as_view(), name="api-service-type-list"),
    path(
        "service-types/<slug:code>/",
        catalog_api.ServiceTypeDetailView.as_view(),
        name="api-service-type-detail",
    ),
    path("departments/", catalog_api.DepartmentListView.as_view(), name="api-department-list"),
    path("approval-items/", catalog_api.ApprovalItemListView.as_view(), name="api-approval-item-list"),
    path(
        "qualification-types/",
        catalog_api.QualificationTypeListView.as_view(),
        name="api-qualification-type-list",
    ),
    # Intermediaries: public
    path("intermediaries/", providers_api.IntermediaryListView.as_view(), name="api-intermediary-list"),
    path(
        "intermediaries/<int:pk>/",
        providers_api.IntermediaryDetailView.as_view(),
        name="api-intermediary-detail",
    ),
    path("offers/<int:pk>/fees/", providers_api.OfferFeeHistoryView.as_view(), name="api-offer-fees"),
    path("fees/<slug:code>/", providers_api.FeeDisclosureView.as_view(), name="api-fee-disclosure"),
    # The acting firm's workspace
    path("me/intermediary/", providers_api.MyIntermediaryView.as_view(), name="api-me-intermediary"),
    path(
        "me/intermediary/qualifications/",
        providers_api.MyQualificationCreateView.as_view(),
        name="api-me-qualifications",
    ),
    path(
        "me/intermediary/practitioners/",
        providers_api.MyPractitionerCreateView.as_view(),
        name="api-me-practitioners",
    ),
    path(
        "me/intermediary/shareholders/",
        providers_api.MyShareholderCreateView.as_view(),
        name="api-me-shareholders",
    ),
    path("me/intermediary/ties/", providers_api.MyTieCreateView.as_view(), name="api-me-ties"),
    path("me/intermediary/commitment/", providers_api.MyCommitmentView.as_view(), name="api-me-commitment"),
    path("me/offers/", providers_api.MyOfferListView.as_view(), name="api-me-offers"),
    path("me/offers/<int:pk>/", providers_api.MyOfferDetailView.as_view(), name="api-me-offer"),
    path("me/offers/<int:pk>/fee/", providers_api.MyOfferFeeView.as_view(), name="api-me-offer-fee"),
    # Operator review
    path("review-queue/", providers_api.ReviewQueueView.as_view(), name="api-review-queue"),
    path(
        "intermediaries/<int:pk>/review/",
        providers_api.IntermediaryReviewView.as_view(),
        name="api-intermediary-review",
    ),
    # Procurement
    path("", include("marketplace.procurement.api_urls")),
    # Oversight intake (approval systems)
    path("", include("marketplace.oversight.api_urls")),
    # Open data: the OCDS feed
    path("ocds/releases/", ocds_api.ReleasePackageView.as_view(), name="api-ocds-releases"),
    # Search
    path("search/", search_api.SearchView.as_view(), name="api-search"),
    path("search/suggest/", search_api.SuggestView.as_view(), name="api-search-suggest"),
]
