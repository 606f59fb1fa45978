"""Verifiable randomness for selections and inspections (commit-reveal).

When a project is published the platform draws a secret (32 random bytes, written as 64 hex
characters) and publishes ``SHA-256(secret)``. At the draw it reveals the secret. Every random
choice is then a pure function of public inputs, so anyone can recompute it with ``hashlib``:

    material = "{secret}|{project}|{purpose}|{candidate_1},{candidate_2},..."
    for counter = 0, 1, 2, ...:
        v = int(SHA-256(material + "|" + str(counter)), 16)      # 256-bit integer
        if v < 2**256 - (2**256 mod n): return v mod n            # reject the biased tail

where ``project`` is the project's public number, ``purpose`` names the step (``winner``,
``tiebreak``, ``coefficient``, ``shortlist:1``, ``shortlist:2``, ...) and the candidates are the
USCCs of the valid applicants in ascending order (for ``coefficient`` the candidates are the
301 values 9500..9800, i.e. 95.00% to 98.00%). ``docs/draws.md`` has a stand-alone script.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

_SPACE = 2**256


def new_secret() -> str:
    return secrets.token_hex(32)


def commitment(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def uniform_index(n: int, *, secret: str, project: str, purpose: str, candidates: Sequence[str]) -> int:
    """A uniformly distributed index in ``range(n)`` derived from the public inputs."""
    if n <= 0:
        raise ValueError("no candidates to draw from")
    material = f"{secret}|{project}|{purpose}|{','.join(candidates)}"
    limit = _SPACE - (_SPACE % n)
    counter = 0
    while True:
        digest = hashlib.sha256(f"{material}|{counter}".encode()).hexdigest()
        value = int(digest, 16)
        if value < limit:
            return value % n
        counter += 1


def pick(candidates: Sequence[str], *, secret: str, project: str, purpose: str) -> str:
    """One of ``candidates`` (which must be sorted) chosen by the draw."""
    ordered = sorted(candidates)
    if list(candidates) != ordered:
        raise ValueError("candidates must be sorted")
    return ordered[
        uniform_index(len(ordered), secret=secret, project=project, purpose=purpose, candidates=ordered)
    ]


def pick_many(candidates: Sequence[str], k: int, *, secret: str, project: str, purpose: str) -> list[str]:
    """``k`` distinct candidates, drawn one at a time from what remains (``purpose:1``, ``:2``...)."""
    remaining = sorted(candidates)
    chosen: list[str] = []
    for step in range(1, min(k, len(remaining)) + 1):
        choice = pick(remaining, secret=secret, project=project, purpose=f"{purpose}:{step}")
        chosen.append(choice)
        remaining.remove(choice)
    return chosen


COEFFICIENT_VALUES = [str(v) for v in range(9500, 9801)]  # basis points: 95.00% .. 98.00%


def coefficient_basis_points(*, secret: str, project: str) -> int:
    index = uniform_index(
        len(COEFFICIENT_VALUES),
        secret=secret,
        project=project,
        purpose="coefficient",
        candidates=COEFFICIENT_VALUES,
    )
    return int(COEFFICIENT_VALUES[index])
