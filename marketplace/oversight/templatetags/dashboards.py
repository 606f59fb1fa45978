from django import template

register = template.Library()


@register.filter
def cell(row: dict, key: str):
    """A dashboard table cell; an empty value shows as a dash."""
    value = row.get(key)
    return "—" if value is None or value == "" else value
