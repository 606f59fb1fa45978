"""A case from a flag to a published conclusion, through the services and the pages: the
explanation request and its answer with an attachment, the conclusion with the credit deduction
and the blacklisting, the remedy, the closing; the blacklisted firm is refused by procurement."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from marketplace.core.audit import audit_verify
from marketplace.core.errors import DomainError
from marketplace.core.models import AuditEvent
from marketplace.core.workdays import add_working_days
from marketplace.oversight.cases import services
from marketplace.oversight.cases.tasks import tick
from marketplace.oversight.models import Case, CreditDeduction, ExplanationRequest, Flag
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Notification
from tests.conftest import login_as
from tests.factories import IntermediaryFactory, OfferFactory, member_of
from tests.procurement.factories import published_project

from .helpers import PNG, awarded_project, project_flag, regulator_user, violation

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    firm = IntermediaryFactory(name="枣庄市鲁南环评咨询有限公司")
    firm_member = member_of(firm.organisation)
    project = awarded_project(firm)
    owner = member_of(project.owner)
    flag = project_flag(project)
    return {
        "firm": firm,
        "firm_member": firm_member,
        "project": project,
        "owner": owner,
        "flag": flag,
        "regulator": regulator_user(),
    }


def _open(s) -> Case:
    return services.case_open(
        actor=s["regulator"],
        title="中选报价明显偏高",
        summary="FE08 提示中选报价高于同类项目。",
        flags=[s["flag"]],
    )


def test_a_case_opened_from_a_flag_names_the_winner_and_the_owner_and_notifies_them(setting):
    case = _open(setting)
    assert case.number.startswith("JG")
    assert (case.intermediary, case.owner, case.project) == (
        setting["firm"],
        setting["project"].owner,
        setting["project"],
    )
    assert list(case.flags.all()) == [setting["flag"]]
    notified = set(Notification.objects.values_list("organisation_id", flat=True))
    assert {setting["firm"].organisation_id, setting["project"].owner_id} <= notified
    assert AuditEvent.objects.filter(action="case.open", object_id=str(case.pk)).exists()


def test_an_explanation_is_due_in_three_working_days_and_answered_with_an_attachment(setting, client):
    case = _open(setting)
    request = services.explanation_request(
        actor=setting["regulator"], case=case, party="intermediary", question="请说明报价构成。"
    )
    assert request.due_on == add_working_days(timezone.localdate(), 3)
    assert request.party_id == setting["firm"].organisation_id
    login_as(client, setting["firm_member"])
    url = reverse("oversight:my-case", args=[case.pk])
    page = client.get(url)
    assert "请说明报价构成。" in page.content.decode()
    response = client.post(
        url,
        {
            "action": "answer",
            "request": request.pk,
            f"r{request.pk}-answer": "报价含外业测量费用，详见附件。",
            f"r{request.pk}-files": SimpleUploadedFile("明细.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ExplanationRequest.Status.ANSWERED
    attachment = request.attachments.get()
    served = client.get(reverse("oversight:case-attachment", args=[attachment.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")


def test_a_confirmed_violation_deducts_credit_blacklists_and_procurement_refuses_the_firm(setting):
    firm = setting["firm"]
    case = _open(setting)
    case = services.case_conclude(
        actor=setting["regulator"],
        case=case,
        violation=True,
        violation_type=violation("V03"),
        legal_basis="《优化营商环境条例》第五十八条",
        conclusion="报告中监测数据系伪造。",
    )
    assert case.status == Case.Status.REMEDYING
    assert case.remedy_due == add_working_days(timezone.localdate(), 10)
    firm.refresh_from_db()
    deduction = CreditDeduction.objects.get(intermediary=firm)
    assert (deduction.points, deduction.case) == (30, case)
    assert firm.credit_score == Decimal("70.00")
    assert firm.credit_grade == "E"  # V03 is a disqualifying item, and the firm is blacklisted
    assert firm.blacklisted_until == timezone.localdate() + timedelta(days=364)
    setting["flag"].refresh_from_db()
    assert setting["flag"].status == Flag.Status.CONFIRMED

    # Procurement's eligibility reads the term written onto the firm.
    service_type = OfferFactory(intermediary=firm).service_type
    project = published_project(service_type=service_type)
    with pytest.raises(DomainError, match="黑名单"):
        procurement.application_submit(actor=setting["firm_member"], project=project, quote=Decimal("60000"))
    assert not project.applications.exists()


def test_no_violation_closes_the_case_at_once_and_dismisses_its_flags(setting):
    case = services.case_conclude(
        actor=setting["regulator"],
        case=_open(setting),
        violation=False,
        violation_type=None,
        legal_basis="《价格法》第十二条",
        conclusion="报价在公示收费标准以内，不构成违规。",
    )
    assert case.status == Case.Status.CLOSED and case.closed_at
    setting["flag"].refresh_from_db()
    assert setting["flag"].status == Flag.Status.DISMISSED
    assert not CreditDeduction.objects.exists()


def test_the_remedy_is_reported_then_the_case_closes_and_is_published(setting, client):
    case = services.case_conclude(
        actor=setting["regulator"],
        case=_open(setting),
        violation=True,
        violation_type=violation("V02"),
        legal_basis="《价格法》第三十九条",
        conclusion="超出公示标准收费。",
    )
    with pytest.raises(DomainError, match="整改期限未满"):
        services.case_close(actor=setting["regulator"], case=case)
    assert client.get(reverse("oversight:disclosure-case", args=[case.pk])).status_code == 404
    services.case_remedy_report(actor=setting["firm_member"], case=case, report="已退还多收费用。")
    case = services.case_close(actor=setting["regulator"], case=case)
    assert case.status == Case.Status.CLOSED
    page = client.get(reverse("oversight:disclosure-case", args=[case.pk])).content.decode()
    assert "超出公示标准收费。" in page and "《价格法》第三十九条" in page and "已退还多收费用。" in page
    listing = client.get(reverse("oversight:disclosure-cases")).content.decode()
    assert case.number in listing
    profile = client.get(reverse("providers:profile", args=[setting["firm"].pk])).content.decode()
    assert "扣 10 分" in profile and case.number in profile
    assert audit_verify().ok


def test_overdue_answers_and_remedies_escalate_once_however_often_the_tick_runs(setting):
    case = _open(setting)
    request = services.explanation_request(
        actor=setting["regulator"], case=case, party="owner", question="请说明为何直接选取。"
    )
    ExplanationRequest.objects.filter(pk=request.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    before = Notification.objects.count()
    first = tick()
    second = tick()
    assert (first["answers"], second["answers"]) == (1, 0)
    request.refresh_from_db()
    assert request.escalated_at is not None
    # the owner and every regulator organisation are told once
    assert Notification.objects.count() == before + 2
    assert AuditEvent.objects.filter(action="case.request.overdue").count() == 1


def test_an_unreported_remedy_escalates_once_when_its_period_ends(setting):
    case = services.case_conclude(
        actor=setting["regulator"],
        case=_open(setting),
        violation=True,
        violation_type=violation("V02"),
        legal_basis="《价格法》第三十九条",
        conclusion="超出公示标准收费。",
    )
    Case.objects.filter(pk=case.pk).update(remedy_due=timezone.localdate() - timedelta(days=1))
    assert [tick()["remedies"], tick()["remedies"]] == [1, 0]
    case.refresh_from_db()
    assert case.remedy_escalated_at is not None
    # past the period the regulator may close it without a remedy report
    assert services.case_close(actor=setting["regulator"], case=case).status == Case.Status.CLOSED


def test_a_conclusion_waits_for_an_answer_that_is_not_yet_due(setting):
    case = _open(setting)
    services.explanation_request(
        actor=setting["regulator"], case=case, party="intermediary", question="请说明。"
    )
    with pytest.raises(DomainError, match="未到期的说明要求"):
        services.case_conclude(
            actor=setting["regulator"],
            case=case,
            violation=False,
            violation_type=None,
            legal_basis="依据",
            conclusion="结论",
        )
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.concluded_at is None


def test_a_case_opened_from_a_complaint_through_the_page(setting, client):
    from marketplace.oversight.intake import complaint_file

    complaint = complaint_file(
        actor=None,
        text="审批窗口工作人员要求我们找指定的中介机构。",
        alleges_designation=True,
        intermediary=setting["firm"],
        contact="13800000000",
    )
    login_as(client, setting["regulator"])
    assert "立案核查" in client.get(reverse("oversight:complaints")).content.decode()
    url = reverse("oversight:case-new") + f"?complaint={complaint.pk}"
    response = client.post(url, {"title": "", "summary": "", "intermediary_uscc": setting["firm"].uscc})
    assert response.status_code == 400
    assert "请填写案由。" in response.content.decode() and not Case.objects.exists()
    response = client.post(
        url,
        {
            "title": "反映指定中介",
            "summary": "投诉反映窗口指定中介。",
            "intermediary_uscc": "91370400MA3C5XYZ1X",
        },
    )
    assert response.status_code == 400 and not Case.objects.exists()
    response = client.post(
        url,
        {
            "title": "反映指定中介",
            "summary": "投诉反映窗口指定中介。",
            "intermediary_uscc": setting["firm"].uscc,
        },
    )
    case = Case.objects.get()
    assert response["Location"] == reverse("oversight:case", args=[case.pk])
    assert (case.source, case.complaint, case.intermediary) == (
        Case.Source.COMPLAINT,
        complaint,
        setting["firm"],
    )


def test_the_flag_page_offers_to_open_a_case_unless_dismissed(setting, client):
    login_as(client, setting["regulator"])
    url = reverse("oversight:flag", args=[setting["flag"].pk])
    assert "立案核查" in client.get(url).content.decode()
    Flag.objects.filter(pk=setting["flag"].pk).update(status=Flag.Status.DISMISSED)
    assert "立案核查" not in client.get(url).content.decode()
    with pytest.raises(DomainError, match="已排除的风险提示不能立案"):
        _open(setting)
