from django import forms


class BootstrapFormMixin:
    """Adds Bootstrap classes to widgets so templates render fields uniformly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            existing = widget.attrs.get("class", "")
            widget.attrs["class"] = f"{existing} {css}".strip()


class Form(BootstrapFormMixin, forms.Form):
    pass


class DateInput(forms.DateInput):
    input_type = "date"
