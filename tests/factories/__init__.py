"""factory-boy factories. Identifiers carry valid check digits (python-stdnum computes them)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from stdnum.cn import ric, uscc

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.catalog.models import (
    Department,
    PriceBand,
    PricingRegime,
    QualificationLevel,
    QualificationType,
    ServiceCategory,
    ServiceType,
    ServiceTypeQualification,
)
from marketplace.core.validators import id_hash
from marketplace.providers.models import FeeSchedule, Intermediary, Offer, Practitioner, Qualification

_uscc_counter = itertools.count(1)
_id_counter = itertools.count(1)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_uscc(prefix: str = "91") -> str:
    """A valid 统一社会信用代码: registration-authority prefix, Zaozhuang area code 370400."""
    body = f"{prefix}370400{next(_uscc_counter):09d}"
    body = body[:17]
    return body + uscc.calc_check_digit(body)


def make_id_number(birth: date = date(1985, 6, 15)) -> str:
    body = f"370402{birth:%Y%m%d}{next(_id_counter) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants the check digit's place too


def pdf_upload(name: str = "certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.cn")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "Pa55word!2026")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = Role.OWNER
    uscc = factory.LazyFunction(make_uscc)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = factory.LazyAttribute(lambda o: o.organisation.kind)
    is_manager = True


class ServiceCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cat-{n}")
    name_zh = factory.Sequence(lambda n: f"类别{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")


class QualificationTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualificationType

    code = factory.Sequence(lambda n: f"qual-{n}")
    name_zh = factory.Sequence(lambda n: f"测试资质{n}")
    name_en = factory.Sequence(lambda n: f"Test licence {n}")


class QualificationLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualificationLevel

    qualification_type = factory.SubFactory(QualificationTypeFactory)
    code = factory.Sequence(lambda n: f"grade-{n}")
    name_zh = "甲级"
    name_en = "Grade A"
    rank = 1


class ServiceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceType

    code = factory.Sequence(lambda n: f"svc-{n}")
    name_zh = factory.Sequence(lambda n: f"测试中介服务{n}")
    name_en = factory.Sequence(lambda n: f"Test service {n}")
    category = factory.SubFactory(ServiceCategoryFactory)
    legal_basis = "《测试条例》第一条"
    pricing_regime = PricingRegime.MARKET


def allow_qualification(service_type, qualification_type, standard_level=None):
    return ServiceTypeQualification.objects.create(
        service_type=service_type, qualification_type=qualification_type, standard_level=standard_level
    )


class PriceBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceBand

    service_type = factory.SubFactory(ServiceTypeFactory, pricing_regime=PricingRegime.GOVERNMENT_GUIDED)
    scale_from = Decimal("0")
    scale_to = None
    fee_min = Decimal("1000.00")
    fee_max = Decimal("50000.00")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept-{n}")
    name_zh = factory.Sequence(lambda n: f"枣庄市测试局{n}")
    name_en = factory.Sequence(lambda n: f"Test Bureau {n}")


class IntermediaryFactory(factory.django.DjangoModelFactory):
    """A listed firm with a complete profile (no qualifications or offers unless asked)."""

    class Meta:
        model = Intermediary

    organisation = factory.SubFactory(OrganisationFactory, kind=Role.INTERMEDIARY)
    name = factory.LazyAttribute(lambda o: o.organisation.name)
    uscc = factory.LazyAttribute(lambda o: o.organisation.uscc)
    legal_representative = "张三"
    address = factory.Sequence(lambda n: f"枣庄市市中区光明路{n + 1}号")
    contact_name = "李四"
    phone = factory.Sequence(lambda n: f"0632-{3000000 + n}")
    email = factory.Sequence(lambda n: f"firm{n}@example.cn")
    status = Intermediary.Status.LISTED
    listed_at = factory.LazyFunction(timezone.now)


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    intermediary = factory.SubFactory(IntermediaryFactory)
    qualification_type = factory.SubFactory(QualificationTypeFactory)
    level = None
    number = factory.Sequence(lambda n: f"CERT-{n:06d}")
    authority = "山东省测试厅"
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=730))
    certificate = factory.django.FileField(filename="cert.pdf", data=PDF_BYTES)


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    intermediary = factory.SubFactory(IntermediaryFactory)
    name = factory.Sequence(lambda n: f"从业人员{n}")
    id_hash = factory.LazyFunction(lambda: id_hash(make_id_number()))
    title = "高级工程师"
    certificate_number = factory.Sequence(lambda n: f"PRAC-{n:06d}")
    certificate = factory.django.FileField(filename="prac.pdf", data=PDF_BYTES)
    insured_since = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=400))
    social_insurance_proof = factory.django.FileField(filename="si.pdf", data=PDF_BYTES)


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer
        skip_postgeneration_save = True

    intermediary = factory.SubFactory(IntermediaryFactory)
    service_type = factory.SubFactory(ServiceTypeFactory)
    description = "提供专业咨询服务"
    included = "现场调查、报告编制、专家评审配合"
    service_days = 20

    @factory.post_generation
    def fee(self, create, extracted, **kwargs):
        if not create:
            return
        values = {"basis": FeeSchedule.Basis.FIXED, "rate": Decimal("20000"), "fee_min": Decimal("15000.00")}
        values.update({"fee_max": Decimal("30000.00"), **(extracted or {})})
        schedule = FeeSchedule.objects.create(offer=self, version=1, effective_from=timezone.now(), **values)
        self.current_fee = schedule
        self.save(update_fields=["current_fee"])


def member_of(organisation: Organisation, **kwargs) -> User:
    return MembershipFactory(organisation=organisation, **kwargs).user
