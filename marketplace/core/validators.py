"""Identifier and upload validation shared by every app (messages are user-facing)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from .errors import DomainError


def clean_uscc(value: str, *, field: str = "uscc") -> str:
    """统一社会信用代码: 18 characters with a valid GB 32100-2015 check character."""
    value = (value or "").strip().upper().replace(" ", "")
    if not value:
        raise DomainError(_("请填写统一社会信用代码。"), field=field)
    try:
        return uscc.validate(value)
    except Exception as exc:  # stdnum raises several ValidationError subclasses
        raise DomainError(
            _("统一社会信用代码“%(value)s”无效：请核对18位代码及校验位。") % {"value": value},
            field=field,
        ) from exc


def clean_resident_id(value: str, *, field: str = "id_number") -> str:
    """居民身份证号码 (GB 11643): 18 characters, valid birth date and check digit."""
    value = (value or "").strip().upper().replace(" ", "")
    if not value:
        raise DomainError(_("请填写身份证号码。"), field=field)
    try:
        return ric.validate(value)
    except Exception as exc:
        raise DomainError(_("身份证号码无效：请核对18位号码、出生日期和校验位。"), field=field) from exc


def id_hash(id_number: str) -> str:
    """Keyed hash of a resident ID number: enough to match ties, nothing to leak."""
    normalised = clean_resident_id(id_number)
    key = settings.ID_HASH_KEY.encode()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


# Allowed upload types, recognised by their first bytes (the name and the browser's type lie).
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
}


def clean_upload(upload: UploadedFile | None, *, field: str, required: bool = True) -> UploadedFile | None:
    """A certificate or proof: PDF, PNG or JPEG, at most ``UPLOAD_MAX_BYTES``."""
    if upload is None:
        if required:
            raise DomainError(_("请上传证明文件（PDF、PNG 或 JPG）。"), field=field)
        return None
    if upload.size > settings.UPLOAD_MAX_BYTES:
        limit = settings.UPLOAD_MAX_BYTES
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(limit // 1024, 1)} KB"
        raise DomainError(_("文件过大：不得超过 %(size)s。") % {"size": size}, field=field, code="too_large")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sigs in _SIGNATURES.values() for sig in sigs):
        raise DomainError(_("文件类型不支持：只接受 PDF、PNG 或 JPG 文件。"), field=field, code="bad_type")
    return upload


# Wording that limits who may serve by place (地域限制). The reform forbids any such limit:
# qualified intermediaries from anywhere have equal entry (应进必进). Procurement's FA04 reuses it.
_REGIONAL_PATTERNS = [
    r"(仅|只|限)(限|接受|面向)?(本地|本市|本区|本县|本省|市内|省内|区内|县内)",
    r"(本地|本市|本省|市内|省内)(注册|登记|企业|机构|单位)(优先|方可|才可|限定)?",
    r"(须|需|必须|应)(在|于)?(本地|本市|本省|[\u4e00-\u9fa5]{2,6}(市|省|区|县))(内)?(注册|设立|设有|登记|有(分支|办公))",
    r"(限|仅限)[\u4e00-\u9fa5]{2,6}(市|省|区|县)(内)?(企业|机构|单位|注册)",
    r"外地(企业|机构|单位)(不得|不予|禁止|除外)",
    r"(local|in-town)\s+(firms?|companies|registration)\s+only",
]


def find_regional_restriction(text: str) -> str | None:
    """The first phrase in ``text`` that restricts by region, or None."""
    import re

    for pattern in _REGIONAL_PATTERNS:
        match = re.search(pattern, text or "", flags=re.IGNORECASE)
        if match:
            return match.group(0)
    return None


def reject_regional_restriction(text: str, *, field: str) -> None:
    phrase = find_regional_restriction(text)
    if phrase:
        raise DomainError(
            _("不得设置地域限制：“%(phrase)s”。合格中介机构不受地域限制，平等进入。") % {"phrase": phrase},
            field=field,
            code="regional",
        )
