"""The dashboards' filters: period (the day registration closed), department, service type."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Department, ServiceType
from marketplace.core.forms import DateInput, Form

from .selectors import Filters


class DashboardFilterForm(Form):
    date_from = forms.DateField(label=_("报名截止自"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("报名截止至"), required=False, widget=DateInput)
    department = forms.ModelChoiceField(
        label=_("审批部门"),
        queryset=Department.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("全部部门"),
        error_messages={"invalid_choice": _("没有编码为“%(value)s”的部门。")},
    )
    service_type = forms.ModelChoiceField(
        label=_("服务事项"),
        queryset=ServiceType.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("全部服务事项"),
        error_messages={"invalid_choice": _("没有编码为“%(value)s”的服务事项。")},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"), code="range")
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            department_id=data["department"].pk if data.get("department") else None,
            service_type_id=data["service_type"].pk if data.get("service_type") else None,
        )
