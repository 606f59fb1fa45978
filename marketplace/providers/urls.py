from django.urls import path

from . import views

app_name = "providers"

urlpatterns = [
    path("providers/", views.directory, name="directory"),
    path("providers/<int:pk>/", views.profile, name="profile"),
    path("providers/register/", views.register, name="register"),
    path("fees/", views.fee_index, name="fee-index"),
    path("fees/<slug:code>/", views.fee_disclosure, name="fee-disclosure"),
    path("offers/<int:pk>/fees/", views.fee_history, name="fee-history"),
    path("workspace/onboarding/", views.onboarding, name="onboarding"),
    path("workspace/onboarding/<slug:section>/", views.onboarding_section, name="onboarding-section"),
    path(
        "workspace/qualifications/<int:pk>/remove/", views.qualification_remove, name="qualification-remove"
    ),
    path("workspace/offers/", views.my_offers, name="my-offers"),
    path("workspace/offers/new/", views.offer_create, name="offer-create"),
    path("workspace/offers/<int:pk>/", views.offer_edit, name="offer-edit"),
    path("workspace/offers/<int:pk>/fee/", views.fee_change, name="fee-change"),
    path("documents/<slug:kind>/<int:pk>/<slug:field>/", views.document, name="document"),
    path("operator/reviews/", views.review_queue, name="review-queue"),
    path("operator/reviews/<int:pk>/", views.review_detail, name="review-detail"),
]
