from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.catalog.models import ServiceType
from marketplace.core.pagecache import public_page
from marketplace.core.views import call_service

from . import selectors, services
from .forms import (
    CommitmentForm,
    FeeChangeForm,
    OfferEditForm,
    OfferForm,
    PractitionerForm,
    ProfileForm,
    QualificationForm,
    RegisterForm,
    ReviewForm,
    ShareholderForm,
    TieForm,
)
from .models import Intermediary, Qualification

PAGE_SIZE = 20


def _fee_input(data) -> services.FeeInput:
    return services.FeeInput(
        basis=data["basis"],
        rate=data["rate"],
        unit=data.get("unit", ""),
        fee_min=data["fee_min"],
        fee_max=data["fee_max"],
        note=data.get("note", ""),
    )


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


# --- public -----------------------------------------------------------------------------------


@public_page
def directory(request):
    filterset, queryset = selectors.directory(request.GET)
    return render(
        request,
        "providers/directory.html",
        {"filter": filterset, "page_obj": _page(request, queryset)},
    )


def profile(request, pk: int):
    firm = selectors.profile(request.user, pk)
    return render(request, "providers/profile.html", {"firm": firm, "today": _today()})


def fee_index(request):
    return render(request, "providers/fee_index.html", {"service_types": selectors.fee_index()})


def fee_disclosure(request, code: str):
    service_type = get_object_or_404(
        ServiceType.objects.select_related("category"), code=code, is_active=True
    )
    offers, bands = selectors.fee_disclosure(service_type)
    return render(
        request,
        "providers/fee_disclosure.html",
        {"service_type": service_type, "page_obj": _page(request, offers), "bands": bands},
    )


def fee_history(request, pk: int):
    offer = selectors.get_offer_for(request.user, pk)
    return render(
        request, "providers/fee_history.html", {"offer": offer, "versions": selectors.fee_history(offer)}
    )


def _today():
    from django.utils import timezone

    return timezone.localdate()


# --- registration and onboarding --------------------------------------------------------------


def register(request):
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        firm = call_service(
            form,
            services.intermediary_register,
            username=data["username"],
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            phone=data["phone"],
            organisation_name=data["organisation_name"],
            uscc=data["uscc"],
            is_sole_proprietor=data["is_sole_proprietor"],
        )
        if firm is not None:
            user = firm.organisation.memberships.get().user
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功。请完善入驻信息并签署承诺书。"))
            return redirect("providers:onboarding")
    return render(request, "providers/register.html", {"form": form}, status=400 if form.errors else 200)


def _my_firm(request) -> Intermediary:
    firm = selectors.intermediary_for_membership(request.membership)
    if firm is None:
        raise Http404(_("当前机构尚未登记为中介机构。"))
    return firm


SECTION_FORMS = {
    "qualification": QualificationForm,
    "practitioner": PractitionerForm,
    "shareholder": ShareholderForm,
    "tie": TieForm,
}


@role_required(Role.INTERMEDIARY)
def onboarding(request, forms_override=None):
    firm = selectors.onboarding_state(_my_firm(request))
    forms = {name: cls(prefix=name) for name, cls in SECTION_FORMS.items()}
    forms["profile"] = ProfileForm(
        prefix="profile",
        initial={
            f: getattr(firm, f)
            for f in ("name", "is_sole_proprietor", "legal_representative", "address", "contact_name")
            + ("phone", "email", "website", "description")
        },
    )
    forms["commitment"] = CommitmentForm(
        prefix="commitment", initial={"signer_name": firm.legal_representative}
    )
    forms.update(forms_override or {})
    context = {
        "firm": firm,
        "forms": forms,
        "checklist": services.onboarding_checklist(firm),
        "open_section": next(iter(forms_override or {}), ""),
    }
    return render(request, "providers/onboarding.html", context, status=400 if forms_override else 200)


def _section_service(section: str, request, firm: Intermediary, data: dict):
    actor = request.user
    if section == "profile":
        return services.intermediary_update_profile, {"actor": actor, "intermediary": firm, **data}
    if section == "qualification":
        return services.qualification_add, {"actor": actor, "intermediary": firm, **data}
    if section == "practitioner":
        return services.practitioner_add, {"actor": actor, "intermediary": firm, **data}
    if section == "shareholder":
        return services.shareholder_add, {"actor": actor, "intermediary": firm, **data}
    if section == "tie":
        return services.tie_declare, {"actor": actor, "intermediary": firm, **data}
    if section == "commitment":
        return services.commitment_sign, {"actor": actor, "intermediary": firm, **data}
    raise Http404


SUCCESS_MESSAGES = {
    "profile": _("基本信息已保存。"),
    "qualification": _("资质已登记。"),
    "practitioner": _("从业人员已登记。"),
    "shareholder": _("股东已登记。"),
    "tie": _("关联关系已申报。"),
    "commitment": _("承诺书已签署，机构已入驻（审核中）。平台将在2个工作日内完成形式审查。"),
}


@require_POST
@role_required(Role.INTERMEDIARY)
def onboarding_section(request, section: str):
    form_classes = {**SECTION_FORMS, "profile": ProfileForm, "commitment": CommitmentForm}
    if section not in form_classes:
        raise Http404
    firm = _my_firm(request)
    form = form_classes[section](request.POST, request.FILES, prefix=section)
    if form.is_valid():
        service, kwargs = _section_service(section, request, firm, dict(form.cleaned_data))
        if call_service(form, service, **kwargs) is not None:
            messages.success(request, str(SUCCESS_MESSAGES[section]))
            return redirect(reverse("providers:onboarding") + f"#{section}")
    return onboarding(request, forms_override={section: form})


@require_POST
@role_required(Role.INTERMEDIARY)
def qualification_remove(request, pk: int):
    firm = _my_firm(request)
    qualification = get_object_or_404(Qualification, pk=pk, intermediary=firm)
    services.qualification_remove(actor=request.user, qualification=qualification)
    messages.success(request, _("资质已删除。"))
    return redirect("providers:onboarding")


# --- offers -----------------------------------------------------------------------------------


@role_required(Role.INTERMEDIARY)
def my_offers(request):
    firm = _my_firm(request)
    return render(request, "providers/my_offers.html", {"firm": firm, "offers": selectors.offers_of(firm)})


@role_required(Role.INTERMEDIARY)
def offer_create(request):
    firm = _my_firm(request)
    form = OfferForm(request.POST or None, firm=firm)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        offer = call_service(
            form,
            services.offer_create,
            actor=request.user,
            intermediary=firm,
            service_type=data["service_type"],
            description=data["description"],
            included=data["included"],
            service_days=data["service_days"],
            practitioners=list(data["practitioners"]),
            qualifications=list(data["qualifications"]),
            fee=_fee_input(data),
        )
        if offer is not None:
            messages.success(request, _("服务已发布，收费标准已公示。"))
            return redirect("providers:my-offers")
    status = 400 if request.method == "POST" else 200
    return render(request, "providers/offer_form.html", {"form": form, "firm": firm}, status=status)


@role_required(Role.INTERMEDIARY)
def offer_edit(request, pk: int):
    offer = selectors.get_offer_for(request.user, pk, write=True)
    firm = offer.intermediary
    initial = {
        "description": offer.description,
        "included": offer.included,
        "service_days": offer.service_days,
        "is_active": offer.is_active,
        "practitioners": offer.practitioners.all(),
        "qualifications": offer.qualifications.all(),
    }
    form = OfferEditForm(request.POST or None, firm=firm, initial=initial, prefix="offer")
    fee_initial = {}
    if offer.current_fee:
        fee_initial = {
            k: getattr(offer.current_fee, k) for k in ("basis", "rate", "unit", "fee_min", "fee_max")
        }
    fee_form = FeeChangeForm(initial=fee_initial, prefix="fee")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if call_service(
            form,
            services.offer_update,
            actor=request.user,
            offer=offer,
            description=data["description"],
            included=data["included"],
            service_days=data["service_days"],
            is_active=data["is_active"],
            practitioners=list(data["practitioners"]),
            qualifications=list(data["qualifications"]),
        ):
            messages.success(request, _("服务信息已更新。"))
            return redirect("providers:my-offers")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "fee_form": fee_form, "offer": offer, "versions": selectors.fee_history(offer)}
    return render(request, "providers/offer_edit.html", context, status=status)


@require_POST
@role_required(Role.INTERMEDIARY)
def fee_change(request, pk: int):
    offer = selectors.get_offer_for(request.user, pk, write=True)
    fee_form = FeeChangeForm(request.POST, prefix="fee")
    if fee_form.is_valid() and call_service(
        fee_form,
        services.fee_schedule_change,
        actor=request.user,
        offer=offer,
        fee=_fee_input(fee_form.cleaned_data),
    ):
        messages.success(request, _("已发布新的收费标准，原标准保留在历史记录中。"))
        return redirect("providers:offer-edit", pk=offer.pk)
    form = OfferEditForm(
        firm=offer.intermediary,
        prefix="offer",
        initial={
            "description": offer.description,
            "included": offer.included,
            "service_days": offer.service_days,
            "is_active": offer.is_active,
        },
    )
    context = {"form": form, "fee_form": fee_form, "offer": offer, "versions": selectors.fee_history(offer)}
    return render(request, "providers/offer_edit.html", context, status=400)


# --- operator review --------------------------------------------------------------------------


@role_required(Role.OPERATOR)
def review_queue(request):
    status = request.GET.get("status") or None
    if status and status not in Intermediary.Status.values:
        status = None
    queryset = selectors.review_queue(status)
    return render(
        request,
        "providers/review_queue.html",
        {
            "page_obj": _page(request, queryset),
            "status": status,
            "statuses": Intermediary.Status.choices,
            "overdue": selectors.review_overdue_count(),
            "today": _today(),
        },
    )


@role_required(Role.OPERATOR)
def review_detail(request, pk: int):
    firm = selectors.get_intermediary_for(request.user, pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if call_service(
            form,
            services.intermediary_review,
            actor=request.user,
            intermediary=firm,
            decision=form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
        ):
            messages.success(request, _("审核决定已记录。"))
            return redirect("providers:review-queue")
    firm = selectors.onboarding_state(firm)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "providers/review_detail.html",
        {"firm": firm, "form": form, "checklist": services.onboarding_checklist(firm), "today": _today()},
        status=status,
    )


def document(request, kind: str, pk: int, field: str):
    """Serves a certificate or proof to those allowed to read it (never from a public URL)."""
    from django.http import FileResponse

    file = selectors.get_document_for(request.user, kind, pk, field)
    response = FileResponse(file.open("rb"), as_attachment=False, filename=file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
