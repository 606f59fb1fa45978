import django_filters
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Department, ServiceType
from marketplace.core.forms import Form

from .models import FundingSource, Method, Project, Status


class AnnouncementFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("项目名称或编号"), max_length=100)
    service_type = django_filters.ModelChoiceFilter(
        queryset=ServiceType.objects.filter(is_active=True), to_field_name="code", label=_("服务事项")
    )
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="code", label=_("审批部门")
    )
    method = django_filters.ChoiceFilter(choices=Method.choices, label=_("选取方式"))
    funding_source = django_filters.ChoiceFilter(choices=FundingSource.choices, label=_("资金来源"))
    status = django_filters.ChoiceFilter(choices=Status.choices, label=_("状态"))
    published_from = django_filters.DateFilter(
        field_name="published_at", lookup_expr="date__gte", label=_("发布日期自")
    )
    published_to = django_filters.DateFilter(
        field_name="published_at", lookup_expr="date__lte", label=_("发布日期至")
    )

    class Meta:
        model = Project
        fields: list[str] = []
        form = Form

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(public_number__iexact=value))
