"""The one interface every backend implements; pages, the API and the outbox call only this."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..documents import Doc
from ..query import SearchQuery, SearchResult


class SearchUnavailable(Exception):
    """The search engine cannot be reached or refused the request (the caller retries later)."""


class Backend(Protocol):
    name: str

    def index(self, docs: list[Doc]) -> None: ...

    def delete(self, keys: list[tuple[str, int]]) -> None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, limit: int = 8) -> list[str]: ...

    def create(self) -> dict[str, Any]: ...

    def rebuild(self, batches: Callable[[str], Iterable[list[Doc]]]) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...

    def ping(self, timeout: float) -> None:
        """Raise ``SearchUnavailable`` unless the backend answers within ``timeout`` seconds."""
        ...
