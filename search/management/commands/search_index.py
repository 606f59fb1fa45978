"""manage.py search_index --create | --rebuild | --status | --drain"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from search import services
from search.backends.base import SearchUnavailable


class Command(BaseCommand):
    help = "Create, rebuild or inspect the search index of the active backend."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--create", action="store_true", help="create missing indices and aliases")
        group.add_argument(
            "--rebuild", action="store_true", help="rebuild everything from the database (alias switch)"
        )
        group.add_argument("--status", action="store_true", help="documents per index and outbox backlog")
        group.add_argument("--drain", action="store_true", help="apply pending changes now")

    def handle(self, *args, **options) -> None:
        try:
            if options["create"]:
                report = services.index_create()
            elif options["rebuild"]:
                report = services.index_rebuild()
            elif options["drain"]:
                report = services.outbox_drain()
            else:
                report = services.index_status()
        except SearchUnavailable as exc:
            raise CommandError(f"search backend unavailable: {exc}") from exc
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2, default=str))
