"""The directory's filters, shared by the page and the API (applied inside the selector)."""

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import QualificationLevel, QualificationType, ServiceCategory, ServiceType
from marketplace.core.forms import Form

from .models import Intermediary, Offer, Qualification

MAX_QUERY_LENGTH = 100


class DirectoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label=_("名称或统一社会信用代码"), max_length=MAX_QUERY_LENGTH
    )
    category = django_filters.ModelChoiceFilter(
        queryset=ServiceCategory.objects.all(),
        to_field_name="code",
        method="filter_category",
        label=_("服务类别"),
    )
    service_type = django_filters.ModelChoiceFilter(
        queryset=ServiceType.objects.filter(is_active=True),
        to_field_name="code",
        method="filter_service_type",
        label=_("服务事项"),
    )
    qualification = django_filters.ModelChoiceFilter(
        queryset=QualificationType.objects.all(),
        to_field_name="code",
        method="filter_qualification",
        label=_("资质类型"),
    )
    level = django_filters.ModelChoiceFilter(
        queryset=QualificationLevel.objects.select_related("qualification_type"),
        method="filter_level",
        label=_("资质等级（不低于）"),
    )
    price_min = django_filters.NumberFilter(
        method="filter_price_min", label=_("收费不低于（元）"), min_value=0
    )
    price_max = django_filters.NumberFilter(
        method="filter_price_max", label=_("收费不高于（元）"), min_value=0
    )
    min_rating = django_filters.NumberFilter(
        field_name="rating_score", lookup_expr="gte", label=_("评价不低于"), min_value=0, max_value=5
    )
    sort = django_filters.ChoiceFilter(
        method="filter_sort",
        label=_("排序"),
        empty_label=_("按名称"),
        choices=[("newest", _("最新入驻")), ("rating", _("评价最高"))],
    )

    class Meta:
        model = Intermediary
        fields: list[str] = []
        form = Form

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(uscc__iexact=value.upper()))

    def _offers(self):
        return Offer.objects.filter(intermediary=OuterRef("pk"), is_active=True)

    def filter_category(self, queryset, name, value):
        return queryset.filter(Exists(self._offers().filter(service_type__category=value)))

    def filter_service_type(self, queryset, name, value):
        return queryset.filter(Exists(self._offers().filter(service_type=value)))

    def _valid_qualifications(self):
        return Qualification.objects.filter(
            intermediary=OuterRef("pk"), valid_until__gte=timezone.localdate()
        )

    def filter_qualification(self, queryset, name, value):
        return queryset.filter(Exists(self._valid_qualifications().filter(qualification_type=value)))

    def filter_level(self, queryset, name, value):
        return queryset.filter(
            Exists(
                self._valid_qualifications().filter(
                    qualification_type_id=value.qualification_type_id, level__rank__lte=value.rank
                )
            )
        )

    def _priced_offers(self):
        offers = self._offers()
        service_type = self.form.cleaned_data.get("service_type")
        if service_type is not None:
            offers = offers.filter(service_type=service_type)
        return offers

    def _price_range(self, queryset):
        """One offer's fee range must overlap the whole requested range."""
        low = self.form.cleaned_data.get("price_min")
        high = self.form.cleaned_data.get("price_max")
        offers = self._priced_offers()
        if low is not None:
            offers = offers.filter(current_fee__fee_max__gte=low)
        if high is not None:
            offers = offers.filter(current_fee__fee_min__lte=high)
        return queryset.filter(Exists(offers))

    def filter_price_min(self, queryset, name, value):
        return self._price_range(queryset)

    def filter_price_max(self, queryset, name, value):
        if self.form.cleaned_data.get("price_min") is not None:
            return queryset  # applied together with price_min
        return self._price_range(queryset)

    def filter_sort(self, queryset, name, value):
        if value == "newest":
            return queryset.order_by("-listed_at", "pk")
        if value == "rating":
            return queryset.order_by(F("rating_score").desc(nulls_last=True), "name")
        return queryset
