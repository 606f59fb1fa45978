from django.core.management.base import BaseCommand, CommandError

from marketplace.oversight.rules.base import REGISTRY, Scope, all_rules
from marketplace.oversight.services import monitor_run, scope_for_project


class Command(BaseCommand):
    help = "Run the monitoring rules and print a summary table per rule."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="scan the whole market (the default)")
        parser.add_argument("--rule", action="append", dest="rules", help="only this rule (repeatable)")
        parser.add_argument("--project", type=int, help="only this project and its applicants")

    def handle(self, *args, full=False, rules=None, project=None, **options):
        all_rules()
        for code in rules or []:
            if code not in REGISTRY:
                raise CommandError(f"unknown rule {code}; known: {', '.join(sorted(REGISTRY))}")
        scope = scope_for_project(project) if project else Scope()
        run = monitor_run(scope=scope, codes=rules)
        total_ms = 0.0
        self.stdout.write(f"{'rule':6} {'matches':>8} {'new':>6} {'reopened':>8} {'resolved':>8} {'ms':>9}")
        for code, row in sorted(run.summary.items()):
            total_ms += row["ms"]
            self.stdout.write(
                f"{code:6} {row['matches']:>8} {row['new']:>6} {row['reopened']:>8} {row['resolved']:>8} {row['ms']:>9.1f}"
            )
        elapsed = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(
            f"{len(run.summary)} rules, {total_ms / 1000:.2f} s in rules, {elapsed:.2f} s in all"
        )
