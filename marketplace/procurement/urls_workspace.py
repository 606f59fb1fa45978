"""The owners' and firms' workspace (names are reversed as ``procurement:<name>``)."""

from django.urls import path

from . import views_workspace as v

P = "workspace/projects/<int:pk>/"

urlpatterns = [
    # owner
    path("workspace/projects/", v.my_projects, name="my-projects"),
    path("workspace/projects/new/", v.project_create, name="project-create"),
    path(P, v.manage, name="manage"),
    path(P + "edit/", v.project_edit, name="project-edit"),
    path(P + "submit/", v.manage_submit, name="manage-submit"),
    path(P + "cancel/", v.manage_cancel, name="manage-cancel"),
    path(P + "relaunch/", v.manage_relaunch, name="manage-relaunch"),
    path(P + "pick/", v.manage_pick, name="manage-pick"),
    path(P + "scores/", v.manage_scores, name="manage-scores"),
    path(P + "start/", v.manage_start, name="manage-start"),
    path(P + "objections/<int:oid>/answer/", v.manage_answer, name="manage-answer"),
    path(P + "contract/amend/", v.manage_contract_amend, name="manage-contract-amend"),
    path(P + "delivery/decide/", v.manage_delivery_decide, name="manage-delivery-decide"),
    # both parties to the contract
    path(P + "contract/", v.manage_contract, name="manage-contract"),
    path(P + "contract/confirm/", v.manage_contract_confirm, name="manage-contract-confirm"),
    path(P + "contract/document/", v.contract_document, name="contract-document"),
    path(P + "deliveries/<int:did>/document/", v.delivery_document, name="delivery-document"),
    path(P + "rate/", v.manage_rate, name="manage-rate"),
    path(P + "ratings/<int:rid>/dispute/", v.manage_dispute, name="manage-dispute"),
    # the winning firm, and any applicant during the publicity
    path(P + "decline/", v.manage_decline, name="manage-decline"),
    path(P + "deliver/", v.manage_deliver, name="manage-deliver"),
    path(P + "object/", v.manage_object, name="manage-object"),
    # intermediary
    path("workspace/opportunities/", v.opportunities, name="opportunities"),
    path(P + "apply/", v.apply, name="apply"),
    path("workspace/applications/", v.my_applications, name="my-applications"),
    path("workspace/applications/<int:aid>/withdraw/", v.application_withdraw, name="application-withdraw"),
    # everyone with an organisation
    path("workspace/notifications/", v.notifications, name="notifications"),
]
