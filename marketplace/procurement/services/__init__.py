"""Procurement writes. Each public function is one transaction, checks the actor, validates
its input (a ``DomainError`` with a user-facing message, nothing written) and is audited."""

from .applications import application_submit, application_withdraw, check_eligibility, eligibility_many
from .contracts import (
    contract_amend,
    contract_confirm,
    contract_upload,
    delivery_decide,
    delivery_submit,
    rating_dispute,
    rating_dispute_decide,
    rating_submit,
    winner_decline,
)
from .projects import (
    ProjectInput,
    project_cancel,
    project_check,
    project_create,
    project_relaunch,
    project_submit,
    project_update,
)
from .selection import (
    objection_answer,
    objection_file,
    registration_close,
    scores_record,
    selection_pick,
    selection_run,
    selection_start,
)
from .timeline import tick

__all__ = [
    "ProjectInput",
    "application_submit",
    "application_withdraw",
    "check_eligibility",
    "eligibility_many",
    "contract_amend",
    "contract_confirm",
    "contract_upload",
    "delivery_decide",
    "delivery_submit",
    "objection_answer",
    "objection_file",
    "project_cancel",
    "project_check",
    "project_create",
    "project_relaunch",
    "project_submit",
    "project_update",
    "rating_dispute",
    "rating_dispute_decide",
    "rating_submit",
    "registration_close",
    "scores_record",
    "selection_pick",
    "selection_run",
    "selection_start",
    "tick",
    "winner_decline",
]
