from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import (
    AffiliatedEntity,
    Department,
    QualificationLevel,
    QualificationType,
    ServiceType,
)
from marketplace.core.forms import DateInput, Form

from .models import DeclaredTie, FeeSchedule, Shareholder

ACCEPT_UPLOADS = {"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}


class RegisterForm(Form):
    organisation_name = forms.CharField(label=_("机构名称"), max_length=200)
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=30, help_text=_("18位，含校验位"))
    is_sole_proprietor = forms.BooleanField(label=_("个体工商户"), required=False)
    full_name = forms.CharField(label=_("联系人姓名"), max_length=100)
    phone = forms.CharField(label=_("手机号"), max_length=20)
    email = forms.EmailField(label=_("电子邮箱"))
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)


class ProfileForm(Form):
    name = forms.CharField(label=_("机构名称"), max_length=200)
    is_sole_proprietor = forms.BooleanField(label=_("个体工商户"), required=False)
    legal_representative = forms.CharField(label=_("法定代表人/经营者"), max_length=100)
    legal_representative_id_number = forms.CharField(
        label=_("法定代表人身份证号码"),
        max_length=30,
        required=False,
        help_text=_("仅保存加密摘要，用于关联关系核查，不保存原号码。已填写过的可留空。"),
    )
    address = forms.CharField(label=_("住所"), max_length=200)
    contact_name = forms.CharField(label=_("联系人"), max_length=100)
    phone = forms.CharField(label=_("联系电话"), max_length=40)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    website = forms.URLField(label=_("网站"), required=False, assume_scheme="https")
    description = forms.CharField(
        label=_("机构简介"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class QualificationForm(Form):
    qualification_type = forms.ModelChoiceField(label=_("资质类型"), queryset=QualificationType.objects.all())
    level = forms.ModelChoiceField(
        label=_("资质等级"),
        queryset=QualificationLevel.objects.select_related("qualification_type"),
        required=False,
    )
    number = forms.CharField(label=_("证书编号"), max_length=80)
    authority = forms.CharField(label=_("发证机关"), max_length=200)
    valid_from = forms.DateField(label=_("有效期起"), widget=DateInput)
    valid_until = forms.DateField(label=_("有效期至"), widget=DateInput)
    certificate = forms.FileField(
        label=_("证书扫描件"), widget=forms.ClearableFileInput(attrs=ACCEPT_UPLOADS)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].label_from_instance = lambda lv: f"{lv.qualification_type.name} · {lv.name}"


class PractitionerForm(Form):
    name = forms.CharField(label=_("姓名"), max_length=100)
    id_number = forms.CharField(label=_("身份证号码"), max_length=30, help_text=_("仅保存加密摘要"))
    title = forms.CharField(label=_("职称/执业资格"), max_length=100)
    certificate_number = forms.CharField(label=_("证书编号"), max_length=80)
    certificate = forms.FileField(label=_("执业证书"), widget=forms.ClearableFileInput(attrs=ACCEPT_UPLOADS))
    insured_since = forms.DateField(label=_("本单位社保缴纳起始日期"), widget=DateInput)
    social_insurance_proof = forms.FileField(
        label=_("近3个月社保缴纳证明"), widget=forms.ClearableFileInput(attrs=ACCEPT_UPLOADS)
    )


class ShareholderForm(Form):
    kind = forms.ChoiceField(label=_("股东类型"), choices=Shareholder.Kind.choices)
    name = forms.CharField(label=_("名称/姓名"), max_length=200)
    id_number = forms.CharField(label=_("身份证号码（自然人）"), max_length=30, required=False)
    uscc = forms.CharField(label=_("统一社会信用代码（企业）"), max_length=30, required=False)
    share = forms.DecimalField(label=_("持股比例（%）"), max_digits=7, decimal_places=3)


class TieForm(Form):
    department = forms.ModelChoiceField(label=_("部门"), queryset=Department.objects.all())
    affiliate = forms.ModelChoiceField(
        label=_("所属或主管单位"),
        queryset=AffiliatedEntity.objects.select_related("department"),
        required=False,
    )
    kind = forms.ChoiceField(label=_("关联类型"), choices=DeclaredTie.Kind.choices)
    person_name = forms.CharField(label=_("相关人员"), max_length=100, required=False)
    ended_on = forms.DateField(label=_("关系终止日期"), widget=DateInput, required=False)
    description = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}))


class CommitmentForm(Form):
    accept = forms.BooleanField(label=_("本人已阅读并承诺遵守上述内容"), required=False)
    signer_name = forms.CharField(label=_("法定代表人签名（填写姓名）"), max_length=100)


class FeeFields(Form):
    basis = forms.ChoiceField(label=_("计费方式"), choices=FeeSchedule.Basis.choices)
    rate = forms.DecimalField(
        label=_("费率/单价"),
        max_digits=18,
        decimal_places=4,
        help_text=_("固定收费填金额（元）；按单位填单价（元）；按比例填百分比。"),
    )
    unit = forms.CharField(
        label=_("计费单位"), max_length=40, required=False, help_text=_("如：平方米、公里、宗")
    )
    fee_min = forms.DecimalField(label=_("最低收费（元）"), max_digits=16, decimal_places=2)
    fee_max = forms.DecimalField(label=_("最高收费（元）"), max_digits=16, decimal_places=2)


class OfferForm(FeeFields):
    service_type = forms.ModelChoiceField(
        label=_("服务事项"), queryset=ServiceType.objects.filter(is_active=True).select_related("category")
    )
    description = forms.CharField(label=_("服务说明"), widget=forms.Textarea(attrs={"rows": 3}))
    included = forms.CharField(label=_("服务包含内容"), widget=forms.Textarea(attrs={"rows": 3}))
    service_days = forms.IntegerField(label=_("服务时限（工作日）"), min_value=1, max_value=720)
    practitioners = forms.ModelMultipleChoiceField(label=_("服务人员"), queryset=None, required=False)
    qualifications = forms.ModelMultipleChoiceField(label=_("所用资质"), queryset=None, required=False)

    field_order = [
        "service_type",
        "description",
        "included",
        "service_days",
        "practitioners",
        "qualifications",
    ]

    def __init__(self, *args, firm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioners"].queryset = firm.practitioners.all() if firm else None
        self.fields["qualifications"].queryset = (
            firm.qualifications.select_related("qualification_type", "level") if firm else None
        )


class OfferEditForm(Form):
    description = forms.CharField(label=_("服务说明"), widget=forms.Textarea(attrs={"rows": 3}))
    included = forms.CharField(label=_("服务包含内容"), widget=forms.Textarea(attrs={"rows": 3}))
    service_days = forms.IntegerField(label=_("服务时限（工作日）"), min_value=1, max_value=720)
    is_active = forms.BooleanField(label=_("上架"), required=False)
    practitioners = forms.ModelMultipleChoiceField(label=_("服务人员"), queryset=None, required=False)
    qualifications = forms.ModelMultipleChoiceField(label=_("所用资质"), queryset=None, required=False)

    def __init__(self, *args, firm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioners"].queryset = firm.practitioners.all()
        self.fields["qualifications"].queryset = firm.qualifications.select_related(
            "qualification_type", "level"
        )


class FeeChangeForm(FeeFields):
    note = forms.CharField(label=_("变更说明"), max_length=200, required=False)


class ReviewForm(Form):
    decision = forms.ChoiceField(
        label=_("审核决定"),
        choices=[("approve", _("通过")), ("request_changes", _("要求补正")), ("delist", _("清退"))],
    )
    note = forms.CharField(label=_("审核意见"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
