"""``manage.py seed_market --scale small|large``: a synthetic market with planted violations.

``small`` (the default) is the ground-truth market of ``marketplace.oversight.groundtruth``: every
rule's planted cases and the look-alikes, each recorded by subject in the manifest. ``large`` is
the benchmark market of ``bench.market.build_large_market`` (meant for PostgreSQL; its manifest
counts planted cases per kind rather than naming subjects). ``--manifest FILE`` writes the
manifest as JSON; ``--scan`` runs the full monitoring scan and reports on it (recall and
precision per rule for the small market, matches per rule for the large one)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.oversight import groundtruth


class Command(BaseCommand):
    help = (
        "Build a synthetic market with planted violations of every monitoring rule and look-alikes "
        "that must not be flagged (small: the ground truth; large: bench.market.build_large_market)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=("small", "large"), default="small")
        parser.add_argument(
            "--seed", type=int, help="Random seed (default: 2026 small, the builder's own large)."
        )
        for name in ("firms", "projects", "applications"):
            parser.add_argument(f"--{name}", type=int, help=f"Large scale only: number of {name}.")
        parser.add_argument("--manifest", metavar="FILE", help="Write the manifest as JSON.")
        parser.add_argument(
            "--scan",
            action="store_true",
            help="Run the full monitoring scan afterwards and report on it.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DJANGO_PRODUCTION set (it writes invented firms, owners and projects).",
        )

    def handle(self, *args, **options):
        if getattr(settings, "PRODUCTION", False) and not options["allow_production"]:
            raise CommandError(
                "Refusing to write a synthetic market into production (pass --allow-production)."
            )
        started = time.perf_counter()
        manifest = self._large(options) if options["scale"] == "large" else self._small(options)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"Synthetic market ({options['scale']}) built in {elapsed:.1f} s.")
        )
        for line in self._summary(manifest):
            self.stdout.write(f"  {line}")
        if options["manifest"]:
            path = Path(options["manifest"])
            path.write_text(self._json(manifest), encoding="utf-8")
            self.stdout.write(f"Manifest written to {path}")
        if options["scan"]:
            self._scan(manifest)

    # --- building ---------------------------------------------------------------------------

    @staticmethod
    def _small(options: dict[str, Any]) -> groundtruth.Manifest:
        seed = 2026 if options["seed"] is None else options["seed"]
        try:
            return groundtruth.build_small_market(seed=seed)
        except groundtruth.AlreadySeeded as exc:
            raise CommandError(f"{exc}; use a fresh database.") from exc
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc

    def _large(self, options: dict[str, Any]) -> Any:
        try:
            from bench.market import build_large_market
        except ImportError as exc:
            raise CommandError(
                "The large market is not available: bench.market.build_large_market cannot be "
                f"imported ({exc}). Use --scale small."
            ) from exc
        from django.db import connection

        sizes = {name: options[name] for name in ("firms", "projects", "applications") if options[name]}
        if connection.vendor != "postgresql" and "projects" not in sizes:
            raise CommandError(
                "The large market (200,000 projects by default) is built for PostgreSQL; on "
                f"{connection.vendor} pass a smaller --projects (and --firms, --applications)."
            )
        if options["seed"] is not None:
            sizes["seed"] = options["seed"]
        return build_large_market(**sizes, log=lambda message: self.stdout.write(f"  {message}"))

    # --- reporting --------------------------------------------------------------------------

    @staticmethod
    def _summary(manifest: Any) -> list[str]:
        if isinstance(manifest, groundtruth.Manifest):
            return manifest.summary_lines()
        data = manifest if isinstance(manifest, dict) else {}
        lines = ["planted, per kind (the large market names no subjects and has no look-alikes):"]
        planted = data.get("planted") or {}
        lines += [f"  {kind}: {count}" for kind, count in dict(planted).items()]
        counts = data.get("counts") or {}
        if counts:
            lines.append(", ".join(f"{name} {count}" for name, count in counts.items()))
        return lines

    @staticmethod
    def _json(manifest: Any) -> str:
        if isinstance(manifest, groundtruth.Manifest):
            return manifest.to_json()
        return json.dumps(manifest, ensure_ascii=False, indent=2, default=str)

    def _scan(self, manifest: Any) -> None:
        from marketplace.oversight.models import Flag
        from marketplace.oversight.rules.base import REGISTRY, all_rules
        from marketplace.oversight.services import monitor_run

        all_rules()
        started = time.perf_counter()
        run = monitor_run()
        self.stdout.write(f"Full scan in {time.perf_counter() - started:.1f} s ({len(run.summary)} rules).")
        if not isinstance(manifest, groundtruth.Manifest):
            for code, row in sorted(run.summary.items()):
                self.stdout.write(f"  {code} {row['matches']:>8} matches ({row['ms']} ms)")
            return
        codes = [code for code in groundtruth.RULE_CODES if code in REGISTRY]
        result = groundtruth.evaluate(manifest, codes, Flag.objects.filter(status=Flag.Status.OPEN))
        for line in groundtruth.report_lines(result):
            self.stdout.write(f"  {line}")
        missing = [code for code in groundtruth.RULE_CODES if code not in REGISTRY]
        if missing:
            self.stdout.write("Rules not registered yet (left out): " + ", ".join(missing))
        if result["missed"] or result["flagged_look_alikes"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result['missed'])} planted case(s) missed, "
                    f"{len(result['flagged_look_alikes'])} look-alike(s) flagged."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("Recall 100% on the planted cases; no look-alike flagged."))
