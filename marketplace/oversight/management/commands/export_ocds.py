"""manage.py export_ocds [--since DATE] [--until DATE] --out FILE: one OCDS release package."""

from __future__ import annotations

import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from marketplace.core.errors import ValidationFailed
from marketplace.oversight.ocds.export import Window, iter_releases, write_package


class Command(BaseCommand):
    help = (
        "Export the published projects (with bids, awards, contracts and payments) as one OCDS 1.1 "
        "release package with the bids extension, streamed in constant memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only projects changed on or after this date (YYYY-MM-DD)")
        parser.add_argument("--until", help="only projects changed on or before this date (YYYY-MM-DD)")
        parser.add_argument("--out", required=True, help="the file to write ('-' for standard output)")

    def handle(self, *args, since=None, until=None, out=None, **options):
        try:
            window = Window.parse(since, until)
        except ValidationFailed as exc:
            raise CommandError(" ".join(str(m) for msgs in exc.errors.values() for m in msgs)) from None
        uri = f"urn:zjcs:ocds:{since or 'all'}:{until or 'now'}"
        started = time.perf_counter()
        if out == "-":
            count = write_package(sys.stdout, iter_releases(window), uri=uri)
            return
        directory = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(directory):
            raise CommandError(_("目录 %(path)s 不存在。") % {"path": directory})
        partial = f"{out}.partial"
        # Written to a side file and renamed at the end, so a failed run never leaves half a package.
        try:
            with open(partial, "w", encoding="utf-8") as handle:
                count = write_package(handle, iter_releases(window), uri=uri)
            os.replace(partial, out)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        elapsed = time.perf_counter() - started
        self.stderr.write(f"{count} releases written to {out} in {elapsed:.1f} s")
