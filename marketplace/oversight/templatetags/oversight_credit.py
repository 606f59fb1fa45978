"""``{% credit_panel firm %}``: the firm's credit on its public profile. A template tag, so the
providers app shows oversight's data without importing oversight (dependencies run one way)."""

from django import template

from ..cases import selectors

register = template.Library()


@register.inclusion_tag("oversight/cases/_credit_panel.html")
def credit_panel(firm) -> dict:
    return selectors.credit_record(firm)
