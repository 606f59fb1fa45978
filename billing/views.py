"""Billing pages: a contract's payments (owner pays, intermediary confirms and refunds), the
organisations' payment lists, the regulator's list, the public fee disclosure and the Stripe
webhook. Thin: parse, call a service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.errors import DomainError
from marketplace.core.views import call_action, call_service

from . import gateway as gateway_module
from . import selectors, services, webhooks
from .forms import PaymentFilterForm, RefundForm, RejectForm, ScheduleForm, TransferForm
from .models import Payment, WebhookEvent
from .schedule import statement

PAGE_SIZE = 20
PARTIES = (Role.OWNER, Role.INTERMEDIARY, Role.REGULATOR)


def _schedule_initial(st) -> dict:
    initial = {}
    for i, line in enumerate(st.lines, start=1):
        initial[f"label_{i}"] = line.milestone.label
        initial[f"percent_{i}"] = line.milestone.percent
        initial[f"after_acceptance_{i}"] = line.milestone.after_acceptance
    return initial


def _page(request, pk: int, forms: dict | None = None, status: int = 200):
    contract, side = selectors.contract_for(request.membership, pk)
    st = statement(contract)
    forms = forms or {}
    context = {
        "contract": contract,
        "project": contract.project,
        "side": side,
        "st": st,
        "stripe_on": gateway_module.stripe_enabled(),
        "schedule_form": forms.get("schedule")
        or ScheduleForm(initial=_schedule_initial(st), prefix="schedule"),
        "schedule_locked": any(line.history for line in st.lines),
        "transfer_form": forms.get("transfer"),
        "transfer_for": forms.get("transfer_for"),
        "refund_errors": [e for errors in forms["refund"].errors.values() for e in errors]
        if "refund" in forms
        else [],
    }
    return render(request, "billing/contract.html", context, status=status)


@role_required(*PARTIES)
def contract_payments(request, pk: int):
    return _page(request, pk)


def _owner_contract(request, pk: int):
    contract, side = selectors.contract_for(request.membership, pk)
    if side != "owner":
        raise PermissionDenied
    return contract


@require_POST
@role_required(Role.OWNER)
def schedule_set(request, pk: int):
    contract = _owner_contract(request, pk)
    form = ScheduleForm(request.POST, prefix="schedule")
    if form.is_valid():
        if call_service(form, services.schedule_set, actor=request.user, contract=contract, rows=form.rows()):
            messages.success(request, _("付款节点已保存。"))
            return redirect("billing:contract", pk=pk)
    return _page(request, pk, {"schedule": form}, status=400)


@require_POST
@role_required(Role.OWNER)
def card_pay(request, pk: int, position: int):
    """Create (or resume) the PaymentIntent and show the card form (Stripe.js)."""
    contract = _owner_contract(request, pk)
    checkout = call_action(
        request, services.card_payment_start, actor=request.user, contract=contract, position=position
    )
    if checkout is None:
        return redirect("billing:contract", pk=pk)
    return_url = request.build_absolute_uri(reverse("billing:card-return", args=[pk]))
    return render(
        request,
        "billing/checkout.html",
        {
            "contract": contract,
            "project": contract.project,
            "payment": checkout.payment,
            "client_secret": checkout.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "return_url": return_url,
        },
    )


@role_required(Role.OWNER)
def card_return(request, pk: int):
    """Stripe sends the payer back here; the webhook may be confirming the same payment now."""
    contract = _owner_contract(request, pk)
    intent_id = request.GET.get("payment_intent", "")
    payment = call_action(
        request, services.card_payment_return, actor=request.user, contract=contract, intent_id=intent_id
    )
    if payment is not None:
        if payment.status == Payment.Status.SUCCEEDED:
            messages.success(request, _("支付成功：%(a)s 元。") % {"a": payment.amount})
        elif payment.status == Payment.Status.PENDING:
            messages.info(request, _("支付尚未完成，请稍后刷新查看结果。"))
        else:
            messages.error(request, _("支付未成功：%(s)s。") % {"s": payment.get_status_display()})
    return redirect("billing:contract", pk=pk)


@require_POST
@role_required(Role.OWNER)
def transfer_record(request, pk: int):
    contract = _owner_contract(request, pk)
    form = TransferForm(request.POST, request.FILES, prefix="transfer")
    if form.is_valid():
        d = form.cleaned_data
        if call_service(
            form,
            services.transfer_record,
            actor=request.user,
            contract=contract,
            position=d["milestone"],
            amount=d["amount"],
            reference=d["reference"],
            transfer_date=d["transfer_date"],
            receipt=d.get("receipt"),
        ):
            messages.success(request, _("转账已登记，等待收款方确认。"))
            return redirect("billing:contract", pk=pk)
    position = form.data.get("transfer-milestone")
    return _page(request, pk, {"transfer": form, "transfer_for": str(position)}, status=400)


def _firm_payment(request, payment_pk: int) -> Payment:
    payment, side = selectors.payment_for(request.membership, payment_pk)
    if side != "firm":
        raise PermissionDenied
    return payment


@require_POST
@role_required(Role.INTERMEDIARY)
def transfer_confirm(request, payment_pk: int):
    payment = _firm_payment(request, payment_pk)
    if call_action(request, services.transfer_confirm, actor=request.user, payment=payment):
        messages.success(request, _("已确认收款。"))
    return redirect("billing:contract", pk=payment.contract.project_id)


@require_POST
@role_required(Role.INTERMEDIARY)
def transfer_reject(request, payment_pk: int):
    payment = _firm_payment(request, payment_pk)
    form = RejectForm(request.POST, prefix="reject")
    if form.is_valid():
        if call_action(
            request,
            services.transfer_reject,
            actor=request.user,
            payment=payment,
            reason=form.cleaned_data["reason"],
        ):
            messages.success(request, _("已退回该转账登记。"))
    else:
        messages.error(request, _("请说明未确认的原因。"))
    return redirect("billing:contract", pk=payment.contract.project_id)


@require_POST
@role_required(Role.INTERMEDIARY)
def refund(request, payment_pk: int):
    payment = _firm_payment(request, payment_pk)
    form = RefundForm(request.POST, prefix="refund")
    if form.is_valid():
        d = form.cleaned_data
        if call_service(
            form,
            services.refund_create,
            actor=request.user,
            payment=payment,
            amount=d["amount"],
            reason=d["reason"],
            reference=d.get("reference", ""),
        ):
            messages.success(request, _("退款已办理。"))
            return redirect("billing:contract", pk=payment.contract.project_id)
    return _page(request, payment.contract.project_id, {"refund": form}, status=400)


@role_required(*PARTIES)
def receipt(request, payment_pk: int):
    payment, _side = selectors.payment_for(request.membership, payment_pk)
    if not payment.receipt:
        raise Http404
    name = payment.receipt.name.rsplit("/", 1)[-1]
    response = FileResponse(payment.receipt.open("rb"), as_attachment=False, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(Role.OWNER, Role.INTERMEDIARY)
def my_payments(request):
    """The owner: what it paid and owes; the intermediary: what it was paid and what is due."""
    contracts = Paginator(selectors.contracts_of(request.membership), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "billing/my_payments.html",
        {"contracts": contracts, "is_owner": request.membership.role == Role.OWNER},
    )


@role_required(Role.REGULATOR)
def regulator_payments(request):
    form = PaymentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    payments = Paginator(
        selectors.payments_all(
            status=filters.get("status", ""), method=filters.get("method", ""), q=filters.get("q", "")
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/regulator_payments.html",
        {"form": form, "payments": payments, "run": selectors.last_reconciliation()},
    )


def disclosure(request, pk: int):
    """Public: a contract's amount, the amounts paid, the fee schedule and government band."""
    return render(request, "billing/disclosure.html", {"d": selectors.disclosure(pk)})


@csrf_exempt
@require_POST
def stripe_webhook(request):
    gw = gateway_module.get_gateway()
    if gw is None:
        raise Http404
    try:
        event = gw.parse_event(request.body, request.headers.get("Stripe-Signature"))
    except gateway_module.SignatureError:
        return HttpResponse("bad signature", status=400, content_type="text/plain")
    except (KeyError, ValueError, TypeError):
        return HttpResponse("bad payload", status=400, content_type="text/plain")
    try:
        handled = webhooks.event_receive(event)
    except webhooks.UnknownObject:
        return HttpResponse("unknown object", status=400, content_type="text/plain")
    except DomainError as exc:  # e.g. an amount that does not match the payment
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    if handled.outcome == WebhookEvent.Outcome.FAILED:
        return HttpResponse("failed", status=500, content_type="text/plain")
    body = "duplicate" if handled.duplicate else handled.outcome
    return HttpResponse(body, content_type="text/plain")
