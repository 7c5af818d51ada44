"""A reason given with a stance (`object 7 it breaks the budget`): kept in the history
with the stance, shown in `status`, on the card, in the outcome and in every export; an
objector who gave one is not asked for it again, and the thread is told it."""

from __future__ import annotations

import dataclasses
import json

from bot.domain.model import Stance
from bot.queries import posts
from bot.queries.export import export_decisions
from bot.text.render_text import card_text, outcome_text
from tests.core.conftest import HarnessFactory, make_spec


def test_a_reason_is_on_record_and_shown_everywhere(make_harness: HarnessFactory) -> None:
    h = make_harness()
    pid = h.propose()
    reply = h.ok("dee", f"object {pid} it breaks the budget")
    assert reply == (
        f'Recorded your answer on #{pid}: object. Your reason is on record: "it breaks the budget".'
    )
    (row,) = h.history(kind="reaction", member="dee")
    assert row["detail"] == {"stance": "object", "reason": "it breaks the budget"}
    # Not asked again: the thread, its author included, is told the reason.
    assert h.notices(pid) == [
        f'@dee objects to proposal #{pid}, with this reason: "it breaks the budget". @ana, '
        "as the author you may answer here or amend the proposal."
    ]
    h.ok("ben", f"inquietud {pid} me preocupa el costo")
    shown = 'Reasons: ben (concern): "me preocupa el costo"; dee (object): "it breaks the budget"'
    assert shown in h.ok("cy", f"status {pid}")
    assert shown in card_text(posts.card(h.core.ctx, pid))
    h.ok("ana", f"close {pid}")
    assert shown in outcome_text(posts.outcome(h.core.ctx, pid))
    spec = h.specs[0]
    assert "it breaks the budget" in export_decisions(h.repo, [spec], "csv")
    assert "- **dee's reason** (object): it breaks the budget" in export_decisions(
        h.repo, [spec], "md"
    )
    (decision,) = json.loads(export_decisions(h.repo, [spec], "json"))["decisions"]
    assert decision["reasons"] == {"ben": "me preocupa el costo", "dee": "it breaks the budget"}
    assert "Reason: &quot;it breaks the budget&quot;" in export_decisions(h.repo, [spec], "html")


def test_a_reason_goes_with_its_stance(make_harness: HarnessFactory) -> None:
    h = make_harness()
    pid = h.propose()
    h.ok("dee", f"concern {pid} the cost")
    h.ok("dee", f"consent {pid}")  # changed their mind: the reason was for the concern
    assert h.state(pid).stances["dee"] is Stance.CONSENT
    assert "Reasons" not in h.ok("cy", f"status {pid}")
    h.ok("dee", f"concern {pid} the cost, again")
    h.react("dee", "+1", pid)  # a reaction another way leaves the reason behind too
    assert "Reasons" not in h.ok("cy", f"status {pid}")


def test_an_objection_without_a_reason_is_still_asked_for_one(
    make_harness: HarnessFactory,
) -> None:
    es = make_harness(specs=[dataclasses.replace(make_spec(), language="es")])
    pid = 1
    es.ok("ana", "proponer Pintar la oficina")
    es.ok("dee", f"me opongo {pid}")
    (notice,) = es.notices(pid)
    assert "¿Cuál es tu motivo?" in notice


def test_a_side_is_named_with_or_without_accents(make_harness: HarnessFactory) -> None:
    spec = dataclasses.replace(make_spec(), sides=("milpa", "vera", "fundación"))
    h = make_harness(specs=[spec])
    added = h.ok("ana", "circle add fay fundacion")
    assert added.startswith("fay is added as a leader of fundación.")
    added = h.ok("ana", "circle add gil FUNDACIÓN member")
    assert added.startswith("gil is added as a member of fundación.")
