"""Recomputing a recorded selection from its published inputs (what anyone can do)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from . import draw
from .methods import Candidate, method_for
from .models import Project, Selection


@dataclass
class DrawCheck:
    selection: Selection
    commitment_ok: bool
    recomputed_winner: str | None
    recomputed_details: dict
    ok: bool


def verify_selection(selection: Selection) -> DrawCheck:
    project: Project = selection.project
    commitment_ok = bool(selection.secret) and draw.commitment(selection.secret) == project.secret_commitment
    candidates = [
        Candidate(
            key=c["key"],
            quote=Decimal(c["quote"]),
            credit=Decimal(c["credit"]) if c.get("credit") is not None else None,
            proposal_score=Decimal(c["proposal_score"]) if c.get("proposal_score") is not None else None,
        )
        for c in selection.candidates
    ]
    outcome = method_for(selection.method).select(
        candidates,
        secret=selection.secret,
        project=project.public_number,
        params={
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": project.price_weight,
        },
    )
    recorded = {k: v for k, v in selection.details.items() if k != "shortlist"}
    details_ok = (
        recorded == outcome.details and (selection.details.get("shortlist") or []) == outcome.shortlist
    )
    recorded_winner = selection.winner.intermediary.uscc if selection.winner_id else None
    if method_for(selection.method).owner_picks:
        winner_ok = recorded_winner is None or recorded_winner in outcome.shortlist
    else:
        winner_ok = recorded_winner == outcome.winner
    return DrawCheck(
        selection, commitment_ok, outcome.winner, outcome.details, commitment_ok and details_ok and winner_ok
    )


def draw_record(selection: Selection) -> dict:
    """The published record of one selection: every input needed to recompute it."""
    project = selection.project
    return {
        "project": project.public_number,
        "round": selection.round,
        "method": selection.method,
        "commitment": project.secret_commitment,
        "secret": selection.secret,
        "candidates": selection.candidates,
        "params": {
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": project.price_weight,
        },
        "details": selection.details,
        "winner": selection.winner.intermediary.uscc if selection.winner_id else None,
        "annulled": selection.annulled,
    }
