"""What a rule finds over a scope, as comparable tuples (per-change runs against the full scan)."""

from __future__ import annotations

import json

from marketplace.core.audit import canonical
from marketplace.oversight import services
from marketplace.oversight.rules.base import Scope, get_rule


def found(code: str, scope: Scope) -> set[tuple]:
    """Rule ``code``'s matches over ``scope`` with its stored thresholds: subject, project, firm,
    fingerprint and evidence."""
    rule = get_rule(code)
    params = rule.params(services.setting_for(rule).thresholds)
    return {
        (
            m.subject_type,
            m.subject_id,
            m.project_id,
            m.intermediary_id,
            m.fingerprint(code),
            json.dumps(canonical(m.evidence), sort_keys=True),
        )
        for m in rule.find(scope, params)
    }
