import sys

from django.core.management.base import BaseCommand, CommandError

from marketplace.procurement.models import Project
from marketplace.procurement.verify import verify_selection


class Command(BaseCommand):
    help = "Recompute every selection of a project from its published record and compare."

    def add_arguments(self, parser):
        parser.add_argument("project", help="public number (e.g. ZZZJ2026000123) or id")

    def handle(self, *args, project, **options):
        query = Project.objects.filter(public_number=project)
        if project.isdigit():
            query = query | Project.objects.filter(pk=int(project))
        found = query.first()
        if found is None:
            raise CommandError(f"no project {project}")
        selections = list(found.selections.select_related("winner__intermediary").order_by("round"))
        if not selections:
            raise CommandError(f"{found.public_number}: no selection has been made yet")
        failed = False
        self.stdout.write(f"project {found.public_number}  commitment sha256={found.secret_commitment}")
        for selection in selections:
            check = verify_selection(selection)
            failed |= not check.ok
            self.stdout.write(
                f"round {selection.round} {selection.method:18} commitment={'OK' if check.commitment_ok else 'MISMATCH'} "
                f"winner={check.recomputed_winner or '(owner picks from ' + ','.join(check.recomputed_details.get('short_list', [])) + ')'} "
                f"{'VERIFIED' if check.ok else 'DOES NOT MATCH'}{' (annulled)' if selection.annulled else ''}"
            )
        if failed:
            sys.exit(1)
