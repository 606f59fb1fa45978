"""Billing pages (reversed as ``billing:<name>``)."""

from django.urls import path

from . import views

app_name = "billing"

P = "workspace/projects/<int:pk>/payments/"

urlpatterns = [
    path(P, views.contract_payments, name="contract"),
    path(P + "schedule/", views.schedule_set, name="schedule"),
    path(P + "<int:position>/card/", views.card_pay, name="card-pay"),
    path(P + "return/", views.card_return, name="card-return"),
    path(P + "transfer/", views.transfer_record, name="transfer"),
    path("workspace/payments/", views.my_payments, name="mine"),
    path("workspace/payments/<int:payment_pk>/confirm/", views.transfer_confirm, name="transfer-confirm"),
    path("workspace/payments/<int:payment_pk>/reject/", views.transfer_reject, name="transfer-reject"),
    path("workspace/payments/<int:payment_pk>/refund/", views.refund, name="refund"),
    path("workspace/payments/<int:payment_pk>/receipt/", views.receipt, name="receipt"),
    path("regulator/payments/", views.regulator_payments, name="regulator"),
    path("projects/<int:pk>/fees/", views.disclosure, name="disclosure"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
]
