"""Shared pieces of the process rules (PR01-PR06): date and time formatting."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def _day(value: datetime) -> date:
    return timezone.localdate(value)


def _maybe_day(value: datetime | None) -> date | None:
    return timezone.localdate(value) if value is not None else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _english(language: str) -> bool:
    return language.startswith("en")
