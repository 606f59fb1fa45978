from rest_framework import serializers


class HitSerializer(serializers.Serializer):
    kind = serializers.CharField()
    object_id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    url = serializers.CharField()
    snippet = serializers.CharField(help_text="HTML: escaped text with <mark> around matched words.")
    price_min = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    price_max = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    rating = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    date = serializers.DateTimeField(allow_null=True)
    blacklisted_until = serializers.DateField(
        allow_null=True, help_text="The firm (of a firm or an offer) is on the blacklist until this day."
    )


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class FacetsSerializer(serializers.Serializer):
    kind = FacetValueSerializer(many=True)
    service_type = FacetValueSerializer(many=True)
    qualification = FacetValueSerializer(many=True)
    level = FacetValueSerializer(many=True)
    status = FacetValueSerializer(many=True)
    department = FacetValueSerializer(many=True)


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="The words searched for, after cleaning.")
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = HitSerializer(many=True)
    facets = FacetsSerializer()
    messages = serializers.ListField(child=serializers.CharField())


class SuggestResponseSerializer(serializers.Serializer):
    suggestions = serializers.ListField(child=serializers.CharField())
