"""Cases, credit and the blacklist, random inspections: regulator, party and public pages.
Concatenated into the "oversight" namespace by ``urls.py``."""

from django.urls import path

from .cases import views_party as party
from .cases import views_public as public
from .cases import views_regulator as regulator

urlpatterns = [
    path("regulator/cases/", regulator.case_list, name="cases"),
    path("regulator/cases/new/", regulator.case_new, name="case-new"),
    path("regulator/cases/<int:pk>/", regulator.case_detail, name="case"),
    path("regulator/inspections/", regulator.inspection_list, name="inspections"),
    path("regulator/inspections/new/", regulator.inspection_new, name="inspection-new"),
    path("regulator/inspections/inspectors/", regulator.inspectors, name="inspectors"),
    path("regulator/inspections/<int:pk>/", regulator.inspection_detail, name="inspection"),
    path("cases/attachments/<int:pk>/", regulator.attachment, name="case-attachment"),
    path("workspace/cases/", party.my_cases, name="my-cases"),
    path("workspace/cases/<int:pk>/", party.my_case, name="my-case"),
    path("disclosure/cases/", public.cases, name="disclosure-cases"),
    path("disclosure/cases/<int:pk>/", public.case, name="disclosure-case"),
    path("disclosure/blacklist/", public.blacklist, name="disclosure-blacklist"),
    path("disclosure/blacklist/<int:pk>/", public.blacklist_entry, name="disclosure-blacklist-entry"),
    path("disclosure/inspections/", public.inspections, name="disclosure-inspections"),
    path("disclosure/inspections/<int:pk>/", public.inspection, name="disclosure-inspection"),
]
