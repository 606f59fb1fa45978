"""The stand-alone script in docs/draws.md agrees with the platform, and so does verify_draw."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import random
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from marketplace.procurement import draw, services
from marketplace.procurement.methods import Candidate, Outcome, method_for
from marketplace.procurement.models import Method, Selection
from marketplace.procurement.verify import draw_record
from tests.factories import make_uscc

from .factories import firm_user, pass_deadline, published_project

DOC = Path(settings.BASE_DIR) / "docs" / "draws.md"
METHODS = [m for m in Method.values if m != Method.DIRECT]
# Runs the page's script as a program (``python draws.py draw.json``) in a fresh interpreter.
SCRIPT_RUNNER = (
    "import re, sys; doc, record = sys.argv[1:]; "
    "src = re.search(r'```python\\n(.*?)```', open(doc, encoding='utf-8').read(), re.S).group(1); "
    "sys.argv = ['draws.py', record]; exec(compile(src, 'draws.py', 'exec'), {'__name__': '__main__'})"
)


def load_script() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 1, "docs/draws.md should hold exactly one python script"
    namespace: dict = {"__name__": "draws_md"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own published script
    return namespace


@pytest.fixture(scope="module")
def script():
    return load_script()


def test_the_script_uses_only_the_standard_library():
    tree = ast.parse(
        re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL).group(1)
    )
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules and modules <= set(sys.stdlib_module_names)


def _generated_record(rng: random.Random, method: str) -> dict:
    secret = f"{rng.getrandbits(256):064x}"
    project = f"ZZZJ2026{rng.randrange(1, 999999):06d}"
    n = rng.randint(2, 12)
    keys = [make_uscc(rng.choice(["91", "92", "12", "52"])) for _ in range(n)]
    # Half the draws quote from a few round values, so ties (and tie-breaks) happen often.
    few = [Decimal(v) for v in ("60000.00", "70000.00", "80000.00")]
    candidates = []
    for key in keys:
        quote = rng.choice(few) if rng.random() < 0.5 else Decimal(rng.randint(5_000_000, 10_000_000)) / 100
        if method == Method.RANDOM_DRAW:
            quote = Decimal("80000.00")
        credit = rng.choice([None, "60.00", "75.50", str(Decimal(rng.randint(5000, 10000)) / 100)])
        proposal = (
            str(Decimal(rng.randint(6000, 10000)) / 100) if method == Method.SCORED_COMPARISON else None
        )
        candidates.append({"key": key, "quote": str(quote), "credit": credit, "proposal_score": proposal})
    return {
        "project": project,
        "round": 1,
        "method": method,
        "commitment": hashlib.sha256(secret.encode()).hexdigest(),
        "secret": secret,
        "candidates": sorted(candidates, key=lambda c: c["key"]),
        "params": {
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": rng.choice([10, 30, 50, 90]) if method == Method.SCORED_COMPARISON else 0,
        },
    }


def _platform(record: dict) -> Outcome:
    candidates = [
        Candidate(
            key=c["key"],
            quote=Decimal(c["quote"]),
            credit=Decimal(c["credit"]) if c["credit"] is not None else None,
            proposal_score=Decimal(c["proposal_score"]) if c["proposal_score"] is not None else None,
        )
        for c in record["candidates"]
    ]
    return method_for(record["method"]).select(
        candidates, secret=record["secret"], project=record["project"], params=record["params"]
    )


def test_script_agrees_with_the_platform_on_100_generated_draws(script):
    rng = random.Random(20260101)
    tiebreaks = 0
    for i in range(100):
        record = _generated_record(rng, METHODS[i % len(METHODS)])
        outcome = _platform(record)
        expected = outcome.shortlist if record["method"] == Method.CREDIT_PREFERENCE else outcome.winner
        assert expected
        assert script["recompute"](record) == expected, record
        tiebreaks += "tie" in outcome.details
    assert tiebreaks >= 10  # the generator really did exercise the tie-break draw


def test_script_rejects_a_secret_that_does_not_match_the_commitment(script):
    record = _generated_record(random.Random(7), Method.LOWEST_PRICE)
    record["secret"] = "0" * 64
    with pytest.raises(AssertionError, match="commitment"):
        script["recompute"](record)


def test_script_index_is_the_platforms_uniform_index(script):
    keys = [make_uscc() for _ in range(5)]
    for i in range(20):
        secret = f"{i:064x}"
        assert script["index"](5, secret, "P", "winner", keys) == draw.uniform_index(
            5, secret=secret, project="P", purpose="winner", candidates=keys
        )


# ---------------------------------------------------------------- end to end through the database


def _selected(method: str, *, quotes: list[str], credits=None, scores=None, **overrides):
    if method == Method.RANDOM_DRAW:
        overrides |= {"price_floor": Decimal("80000"), "price_ceiling": Decimal("80000")}
    if method == Method.SCORED_COMPARISON:
        overrides |= {"price_weight": 40}
    project = published_project(method=method, **overrides)
    owner = project.created_by
    firms = []
    for i, quote in enumerate(quotes):
        kwargs = {"credit_score": Decimal(credits[i])} if credits else {}
        firm, user = firm_user(project.service_type, **kwargs)
        services.application_submit(actor=user, project=project, quote=quote)
        firms.append((firm, user))
    project = pass_deadline(project)
    services.registration_close(project=project)
    if scores:
        apps = {a.intermediary_id: a for a in project.applications.all()}
        rows = []
        for (firm, _user), per_firm in zip(firms, scores, strict=True):
            rows += [(apps[firm.pk], f"评审专家{j}", s) for j, s in enumerate(per_firm)]
        services.scores_record(actor=owner, project=project, scores=rows)
    services.selection_run(project=project)
    project.refresh_from_db()
    return project, project.selections.select_related("winner__intermediary").get()


END_TO_END = [
    (Method.RANDOM_DRAW, ["80000"] * 4, None, None),
    (Method.LOWEST_PRICE, ["70000", "60000", "60000", "90000"], None, None),
    (Method.REFERENCE_PRICE, ["60000", "72000", "80000", "85000", "99000"], None, None),
    (Method.CREDIT_PREFERENCE, ["80000"] * 5, ["91", "85.5", "70", "99", "60"], None),
    (Method.SCORED_COMPARISON, ["70000", "90000", "80000"], None, [("80", "85"), ("95", "90"), ("88", "70")]),
]


def verify(project) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("verify_draw", project.public_number, stdout=out)
    except SystemExit as exc:
        return out.getvalue(), int(exc.code or 0)
    return out.getvalue(), 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "quotes", "credits", "scores"), END_TO_END, ids=[m[0] for m in END_TO_END]
)
def test_recorded_selection_recomputes_with_the_script_and_verify_draw(
    script, tmp_path, method, quotes, credits, scores
):
    project, selection = _selected(method, quotes=quotes, credits=credits, scores=scores)
    record = draw_record(selection)
    assert record["commitment"] == hashlib.sha256(record["secret"].encode()).hexdigest()
    result = script["recompute"](record)
    if method == Method.CREDIT_PREFERENCE:
        assert result == record["details"]["short_list"] and len(result) == 3
        assert record["winner"] is None
    else:
        assert result == record["winner"] == selection.winner.intermediary.uscc
    # As the page says: save draw.json and run the script on it.
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(  # noqa: S603 - our interpreter, our file
        [sys.executable, "-c", SCRIPT_RUNNER, str(DOC), str(path)], capture_output=True, text=True, check=True
    )
    assert "matches" in run.stdout and "DOES NOT MATCH" not in run.stdout
    output, code = verify(project)
    assert code == 0
    assert "VERIFIED" in output and "DOES NOT MATCH" not in output
    assert project.public_number in output and project.secret_commitment in output


@pytest.mark.django_db
def test_verify_draw_reports_a_tampered_secret():
    project, selection = _selected(Method.RANDOM_DRAW, quotes=["80000"] * 3)
    Selection.objects.filter(pk=selection.pk).update(secret="0" * 64)
    output, code = verify(project)
    assert code == 1
    assert "DOES NOT MATCH" in output and "commitment=MISMATCH" in output


@pytest.mark.django_db
def test_verify_draw_reports_tampered_candidates():
    project, selection = _selected(Method.LOWEST_PRICE, quotes=["70000", "60000", "90000"])
    candidates = selection.candidates
    winner_key = selection.winner.intermediary.uscc
    for c in candidates:
        if c["key"] == winner_key:
            c["quote"] = "95000.00"  # the recorded winner would no longer be the lowest
    Selection.objects.filter(pk=selection.pk).update(candidates=candidates)
    output, code = verify(project)
    assert code == 1
    assert "DOES NOT MATCH" in output and "commitment=OK" in output


@pytest.mark.django_db
def test_verify_draw_reports_a_dropped_candidate_in_a_random_draw():
    project, selection = _selected(Method.RANDOM_DRAW, quotes=["80000"] * 4)
    kept = [c for c in selection.candidates if c["key"] != selection.winner.intermediary.uscc]
    Selection.objects.filter(pk=selection.pk).update(candidates=kept)
    output, code = verify(project)
    assert code == 1 and "DOES NOT MATCH" in output
