"""``manage.py seed_demo``: the demo market of Zaozhuang, with one login per role (``make demo``)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from billing import demo as billing_demo
from cms import demo as cms_demo
from marketplace.core.audit import audit_verify
from marketplace.oversight import demo_cases
from marketplace.procurement import demo as procurement_demo
from marketplace.providers import demo

ROLE_ORDER = ("operator", "regulator", "department", "owner", "intermediary")


class Command(BaseCommand):
    help = (
        "Seed the demo market (about 60 intermediaries, owners and one login per role) through the "
        "real services. Does nothing if the demo operator exists already."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DJANGO_PRODUCTION set (the demo accounts share a published password).",
        )

    def handle(self, *args, **options):
        if getattr(settings, "PRODUCTION", False) and not options["allow_production"]:
            raise CommandError(
                "Refusing to seed demo accounts with a published password in production "
                "(pass --allow-production for a demo server)."
            )
        started = time.monotonic()
        # Seeding replays thousands of changes: scan once at the end instead of after each one.
        settings.MONITOR_ON_CHANGE = False
        try:
            manifest = demo.seed_demo()
        except demo.DemoAlreadySeeded:
            self.stdout.write(
                f"The demo market is there already (user “{demo.OPERATOR_USERNAME}” exists): nothing to do."
            )
            self._seed_procurement()
            self._monitor()
            demo_cases.seed_into(self.stdout)
            call_command("search_index", "--rebuild", stdout=self.stdout)  # fill the search index
            self._print_logins([], existing=True)
            return
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        self._print_summary(manifest, elapsed)
        self._seed_procurement()
        self._monitor()
        demo_cases.seed_into(self.stdout)
        call_command("search_index", "--rebuild", stdout=self.stdout)  # fill the search index
        self._print_logins(manifest["logins"])

    def _monitor(self) -> None:
        """A full scan of the monitoring rules, so regulators find the planted cases flagged."""
        from marketplace.oversight.services import monitor_run

        billing_demo.seed_billing(self.stdout.write)  # payments on the accepted contracts
        started = time.monotonic()
        run = monitor_run()
        flagged = sum(row["matches"] for row in run.summary.values())
        self.stdout.write(
            f"Monitoring: {len(run.summary)} rules, {flagged} findings, {time.monotonic() - started:.1f} s"
        )

    def _seed_procurement(self) -> None:
        """The demo owners' projects (``marketplace.procurement.demo``), unless they are there."""
        cms_demo.seed_portal(self.stdout)  # the portal's pages, before the projects
        started = time.monotonic()
        try:
            manifest = procurement_demo.seed_procurement()
        except procurement_demo.ProcurementAlreadySeeded:
            self.stdout.write("The demo owners' projects are there already: nothing to do.")
            return
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self._print_procurement(manifest, time.monotonic() - started)

    # --- output ---------------------------------------------------------------------------------

    def _print_summary(self, manifest: dict, elapsed: float) -> None:
        counts = manifest["counts"]
        status = counts["by_status"]
        w = self.stdout.write
        w(self.style.SUCCESS(f"Demo market seeded in {elapsed:.1f} s."))
        w(
            f"  intermediaries {counts['intermediaries']} "
            f"(out of town {counts['out_of_town']}, sole proprietors {counts['sole_proprietors']}): "
            + ", ".join(f"{k} {v}" for k, v in sorted(status.items()))
        )
        w(
            f"  qualifications {counts['qualifications']}, practitioners {counts['practitioners']}, "
            f"shareholders {counts['shareholders']}, declared ties {counts['declared_ties']}"
        )
        w(
            f"  offers {counts['offers']}, fee versions {counts['fee_versions']} "
            f"({counts['offers_with_fee_history']} offers with a fee history), owners {counts['owners']}, "
            f"users {counts['users']}"
        )
        report = audit_verify()
        w(f"  audit events {report.checked}, chain {'intact' if report.ok else 'BROKEN'}")
        w("Planted cases for the monitoring rules:")
        for row in manifest["red_hat_undeclared"]:
            w(
                f"  红顶中介 (undeclared): {row['intermediary']} — shareholder {row['shareholder']} "
                f"{row['share']}% ({row['shareholder_uscc']}, affiliate of {row['department']})"
            )
        for row in manifest["red_hat_declared"]:
            w(
                f"  declared tie (look-alike): {row['intermediary']} — shareholder {row['shareholder']} "
                f"{row['share']}%, declared to {row['department']}"
            )
        for row in manifest["shared_phone"]:
            w(
                f"  shared phone: {row['intermediary']} — legal representative {row['legal_representative']} "
                f"uses {row['phone']} ({row['department_name']})"
            )
        for row in manifest["recent_fee_raise"]:
            w(
                f"  recent fee raise: {row['intermediary']} · {row['service_type']} on {row['raised_on']}: "
                f"{row['from']} → {row['to']}"
            )
        for row in manifest["expired_qualifications"]:
            offers = ", ".join(o["service_type"] for o in row["offers"]) or "no offer"
            w(
                f"  expired qualification: {row['intermediary']} — {row['qualification_type']} "
                f"{row['number']} until {row['valid_until']} (still linked to: {offers})"
            )
        w(f"  review overdue: {', '.join(manifest['review_overdue'])}")
        w(f"  under review, not yet due: {', '.join(manifest['review_pending'])}")
        w(f"  changes requested: {', '.join(r['intermediary'] for r in manifest['changes_requested'])}")
        w(f"  delisted: {', '.join(r['intermediary'] for r in manifest['delisted'])}")
        w(f"  drafts: {', '.join(manifest['drafts'])}")

    def _print_procurement(self, manifest: dict, elapsed: float) -> None:
        counts = manifest["counts"]
        w = self.stdout.write
        w(self.style.SUCCESS(f"Demo procurement seeded in {elapsed:.1f} s."))
        w(
            f"  projects {counts['projects']}, applications {counts['applications']} "
            f"({counts['sealed']} still sealed), selections {counts['selections']}, "
            f"contracts {counts['contracts']} (amendments {counts['amendments']}), "
            f"deliveries {counts['deliveries']}, ratings {counts['ratings']}, objections {counts['objections']}, "
            f"walk-aways {counts['walkaways']}, firms with a rating {counts['rated_firms']}"
        )
        rows = procurement_demo.summary_rows(manifest)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [c.rjust(widths[i]) for i, c in enumerate(row[1:-1], start=1)]
            w("  " + "  ".join(cells) + ("  " + row[-1] if row[-1] else ""))
        report = audit_verify()
        w(f"  audit events {report.checked}, chain {'intact' if report.ok else 'BROKEN'}")
        planted = manifest["planted"]
        w("Planted cases for the procurement monitoring rules:")
        row = planted["department_concentration"]
        w(
            f"  one firm, one department: {row['intermediary']} won {len(row['projects'])} projects for "
            f"{row['department']} ({', '.join(row['projects'])})"
        )
        row = planted["repeated_direct"]
        w(
            f"  repeated direct selection: {row['owner']} → {row['intermediary']} "
            f"({', '.join(f'{p} {a}' for p, a in zip(row['projects'], row['amounts'], strict=True))} 元; "
            f"threshold {row['threshold']})"
        )
        row = planted["identical_quotes"]
        w(
            f"  identical lowest quotes: {row['project']} — {' = '.join(row['intermediaries'])} {row['amount']} 元 "
            f"(the draw chose {row['winner']})"
        )
        row = planted["single_applicant_private"]
        w(f"  single valid applicant (private): {row['project']} — {row['intermediary']}")
        row = planted["shared_ip"]
        w(f"  shared client IP: {row['project']} — {' and '.join(row['intermediaries'])} from {row['ip']}")
        row = planted["amendment_raise"]
        w(
            f"  contract raised by amendment: {row['project']} — {row['old']} → {row['new']} (+{row['percent']}%)"
        )
        row = planted["lookalike_identical_draw"]
        w(
            f"  look-alike, identical quotes in a random draw (fixed price): {row['project']} — "
            f"{len(row['intermediaries'])} firms at {row['amount']} 元"
        )
        stories = manifest["stories"]
        w(
            "  stories: "
            + "; ".join(
                f"{k.replace('_', ' ')} {', '.join(v) if isinstance(v, list) else v}"
                for k, v in stories.items()
            )
        )

    def _print_logins(self, logins: list[dict], existing: bool = False) -> None:
        if existing:
            from marketplace.accounts.models import Membership

            memberships = Membership.objects.filter(user__username__in=demo.LOGIN_NOTES).select_related(
                "user", "organisation"
            )
            logins = [
                {
                    "role": m.role,
                    "username": m.user.username,
                    "organisation": m.organisation.name,
                    "note": demo.LOGIN_NOTES[m.user.username],
                }
                for m in memberships
            ]
        logins = sorted(logins, key=lambda r: (ROLE_ORDER.index(r["role"]), r["username"]))
        w = self.stdout.write
        w("")
        w("Demo logins (http://127.0.0.1:8000/accounts/login/), the same password for all:")
        header = ("role", "username", "password", "organisation / notes")
        table = [header]
        for row in logins:
            note = row["note"]
            if row["username"] in demo.TOTP_USERS:
                note = (
                    f"{note}; 2FA: run `make demo-totp DEMO_USER={row['username']}` or "
                    f"`.venv/bin/python manage.py demo_totp {row['username']}`"
                )
            table.append(
                (row["role"], row["username"], demo.DEMO_PASSWORD, f"{row['organisation']} — {note}")
            )
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        for row in table:
            w("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        w("  Every other demo firm (firm01…) and owner (owner02…) signs in with the same password.")
