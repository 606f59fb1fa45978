"""Chinese is the default language; English must be complete."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
# The language switch names Chinese in Chinese; the logo seal and the filing numbers stay Chinese.
ALLOWED = {"中文", "枣", "鲁", "备", "号", "鲁公网安备"}


def test_every_message_has_an_english_translation():
    po = polib.pofile(str(PO))
    missing = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert missing == []
    assert not [e.msgid for e in po if "fuzzy" in e.flags]


def test_compiled_catalogue_is_current():
    mo = PO.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= PO.stat().st_mtime - 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/providers/",
        "/services/",
        "/fees/",
        "/projects/",
        "/results/",
        "/accounts/login/",
        "/accounts/signup/",
    ],
)
def test_public_pages_in_english_show_no_chinese_interface_text(client, url):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", response.content.decode(), flags=re.S)
    found = set(re.findall(r"[\u4e00-\u9fff]+", text)) - ALLOWED
    assert found == set(), url
