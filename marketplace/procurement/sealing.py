"""Sealed quotes (密封报价).

Each project has its own random AES-256 key, stored wrapped (AES-GCM) under the platform's
master key (``QUOTE_MASTER_KEY``). A quote is encrypted with the project key and bound to its
project and firm (associated data), so a ciphertext cannot be moved to another application.
``unseal`` refuses to run before registration closes: that is the only way to read a quote.
"""

from __future__ import annotations

import base64
import hashlib
import os
from decimal import Decimal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core.errors import DomainError


class QuoteStillSealed(DomainError):
    pass


def _master() -> AESGCM:
    return AESGCM(hashlib.sha256(settings.QUOTE_MASTER_KEY.encode()).digest())


def new_wrapped_key(project_number: str) -> str:
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    wrapped = _master().encrypt(nonce, key, project_number.encode())
    return base64.b64encode(nonce + wrapped).decode()


def _project_key(project) -> AESGCM:
    raw = base64.b64decode(project.quote_key_wrapped)
    key = _master().decrypt(raw[:12], raw[12:], project.public_number.encode())
    return AESGCM(key)


def _aad(project, intermediary_id: int) -> bytes:
    return f"{project.public_number}:{intermediary_id}".encode()


def seal(project, intermediary_id: int, amount: Decimal) -> str:
    nonce = os.urandom(12)
    ciphertext = _project_key(project).encrypt(nonce, str(amount).encode(), _aad(project, intermediary_id))
    return base64.b64encode(nonce + ciphertext).decode()


def unseal(project, intermediary_id: int, sealed: str) -> Decimal:
    if timezone.now() < project.registration_deadline:
        raise QuoteStillSealed(_("报名截止前，任何人都不能查看报价。"), code="sealed")
    raw = base64.b64decode(sealed)
    plain = _project_key(project).decrypt(raw[:12], raw[12:], _aad(project, intermediary_id))
    return Decimal(plain.decode())
