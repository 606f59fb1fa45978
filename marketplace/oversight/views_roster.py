"""The operator's staff-roster import page (部门工作人员名册导入)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.forms import Form
from marketplace.core.views import call_service

from . import roster

PREVIEW, IMPORT = "preview", "import"


class RosterImportForm(Form):
    file = forms.FileField(
        label=gettext_lazy("名册文件（CSV）"),
        help_text=gettext_lazy("UTF-8 编码的 CSV 文件（可带 BOM），第一行为表头。"),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("操作"),
        choices=[(PREVIEW, gettext_lazy("预览（不写入）")), (IMPORT, gettext_lazy("导入"))],
        initial=PREVIEW,
        widget=forms.RadioSelect,
    )


def _columns() -> list[dict]:
    return [
        {
            "zh": zh,
            "en": en,
            "required": column in roster.REQUIRED_COLUMNS,
            "relative": column in roster.RELATIVE_COLUMNS,
        }
        for column, (zh, en) in roster.COLUMNS.items()
    ]


@role_required(Role.OPERATOR)
def roster_import(request):
    form = RosterImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            report = call_service(
                form,
                roster.roster_import,
                actor=request.user,
                file=form.cleaned_data["file"],
                dry_run=form.cleaned_data["mode"] == PREVIEW,
            )
            if report is not None and report.ok:
                status = 200
                if report.written:
                    messages.success(request, _("名册已导入。"))
    return render(
        request,
        "oversight/roster/import.html",
        {
            "form": form,
            "report": report,
            "columns": _columns(),
            "max_mb": roster.ROSTER_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )
