"""Procurement API routes, included by the project's API urlconf under ``/api/``."""

from django.urls import path

from . import api

urlpatterns = [
    # Announcements and results (public); owners POST and PATCH projects here too.
    path("projects/", api.ProjectListView.as_view(), name="api-project-list"),
    path("projects/<int:pk>/", api.ProjectDetailView.as_view(), name="api-project-detail"),
    path("projects/<int:pk>/draw/", api.ProjectDrawView.as_view(), name="api-project-draw"),
    # The owner's steps
    path("my/projects/", api.OwnerProjectListView.as_view(), name="api-my-projects"),
    path("projects/<int:pk>/submit/", api.ProjectSubmitView.as_view(), name="api-project-submit"),
    path("projects/<int:pk>/cancel/", api.ProjectCancelView.as_view(), name="api-project-cancel"),
    path("projects/<int:pk>/relaunch/", api.ProjectRelaunchView.as_view(), name="api-project-relaunch"),
    path("projects/<int:pk>/pick/", api.ProjectPickView.as_view(), name="api-project-pick"),
    path("projects/<int:pk>/scores/", api.ProjectScoresView.as_view(), name="api-project-scores"),
    path(
        "projects/<int:pk>/objections/<int:oid>/answer/",
        api.ObjectionAnswerView.as_view(),
        name="api-objection-answer",
    ),
    path("projects/<int:pk>/contract/amend/", api.ContractAmendView.as_view(), name="api-contract-amend"),
    path("projects/<int:pk>/delivery/decide/", api.DeliveryDecideView.as_view(), name="api-delivery-decide"),
    # Either side of the contract
    path("projects/<int:pk>/contract/", api.ContractUploadView.as_view(), name="api-contract-upload"),
    path(
        "projects/<int:pk>/contract/confirm/", api.ContractConfirmView.as_view(), name="api-contract-confirm"
    ),
    path("projects/<int:pk>/rate/", api.RatingSubmitView.as_view(), name="api-project-rate"),
    path("ratings/<int:pk>/dispute/", api.RatingDisputeView.as_view(), name="api-rating-dispute"),
    # The acting firm
    path("opportunities/", api.OpportunityListView.as_view(), name="api-opportunities"),
    path("my/applications/", api.FirmApplicationListView.as_view(), name="api-my-applications"),
    path("projects/<int:pk>/apply/", api.ApplyView.as_view(), name="api-project-apply"),
    path("applications/<int:pk>/withdraw/", api.WithdrawView.as_view(), name="api-application-withdraw"),
    path("projects/<int:pk>/object/", api.ObjectView.as_view(), name="api-project-object"),
    path("projects/<int:pk>/decline/", api.DeclineView.as_view(), name="api-project-decline"),
    path("projects/<int:pk>/deliver/", api.DeliverView.as_view(), name="api-project-deliver"),
    # Operator and regulator
    path("check-queue/", api.CheckQueueView.as_view(), name="api-check-queue"),
    path("projects/<int:pk>/check/", api.ProjectCheckView.as_view(), name="api-project-check"),
    path("ratings/<int:pk>/decide/", api.RatingDisputeDecideView.as_view(), name="api-rating-decide"),
    # The active organisation
    path("notifications/", api.NotificationListView.as_view(), name="api-notifications"),
]
