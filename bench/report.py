"""The circle's own report over a long history: 10,000 proposals and 200,000 stances
(20 leaders, 10 a side, each answering every proposal once), timed against a bare SELECT
of the same history rows in the same run.

Usage: python bench/report.py [--proposals N]   (target: at most 3x the SELECT)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.circle import CircleSpec, MemberSpec, Rules
from bot.domain.model import Role
from bot.queries.report import circle_report
from storage import open_repository
from storage.models import CircleRow, HistoryRow, MemberRow, ProposalRow

SIDES = ("milpa", "vera")
LEADERS = [(f"{side}{n}", side) for side in SIDES for n in range(10)]
STANCES = ("+1", "thinking_face", "neutral_face", "raised_hand")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def spec() -> CircleSpec:
    members = tuple(MemberSpec(name, side, Role.LEADER) for name, side in LEADERS)
    return CircleSpec("council", SIDES, members, rules=Rules())


def fill(url: str, proposals: int) -> int:
    repo = open_repository(url)
    rules = Rules().to_json()
    leaders = {side: [n for n, s in LEADERS if s == side] for side in SIDES}
    rows: list[dict[str, Any]] = []

    def row(pid: int | None, kind: str, actor: str, at: datetime, **more: Any) -> None:
        rows.append(
            {
                "circle_id": 1,
                "proposal_id": pid,
                "round": more.pop("round", 1 if pid else None),
                "kind": kind,
                "actor": actor,
                "at": at,
                "platform": "bench",
                "event_id": f"e{len(rows)}",
                "counted": True,
                "member": None,
                "mark": None,
                "emoji": None,
                "added": None,
                "detail": None,
                **more,
            }
        )

    with repo.engine.begin() as c:
        c.execute(insert(CircleRow).values(id=1, name="council"))
        c.execute(
            insert(MemberRow),
            [
                {"circle_id": 1, "name": n, "side": s, "role": "leader", "active": True}
                for n, s in LEADERS
            ],
        )
        for p in range(1, proposals + 1):
            opened = T0 + timedelta(minutes=10 * p)
            deadline = opened + timedelta(days=3)
            detail = {"text": f"P{p}", "deadline": deadline.strftime("%Y-%m-%dT%H:%M:%SZ")}
            row(p, "propose", LEADERS[p % 20][0], opened, detail=detail)
            row(p, "round", "circlebot", opened, detail={"rules": rules, "leaders": leaders})
            for i, (name, _side) in enumerate(LEADERS):
                at = opened + timedelta(minutes=7 * i + p % 13)
                emoji = STANCES[(i + p) % 4]
                row(p, "reaction", name, at, member=name, mark="reaction", emoji=emoji, added=True)
            row(p, "outcome", "circlebot", deadline, detail={"status": "passed"})
        c.execute(
            insert(ProposalRow),
            [
                {
                    "id": p,
                    "circle_id": 1,
                    "author": LEADERS[p % 20][0],
                    "text": f"P{p}",
                    "status": "passed",
                    "round": 1,
                    "created_at": T0 + timedelta(minutes=10 * p),
                    "deadline": T0 + timedelta(minutes=10 * p, days=3),
                }
                for p in range(1, proposals + 1)
            ],
        )
        c.execute(insert(HistoryRow), rows)
    repo.engine.dispose()
    return len(rows)


def timed(action: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        count = fill(url, args.proposals)
        repo = open_repository(url)
        circle = spec()
        until = T0 + timedelta(days=3650)

        def select_rows() -> int:
            with repo.engine.connect() as c:
                return len(c.execute(text("select * from history where circle_id = 1")).all())

        def report() -> Any:
            return circle_report(repo, circle, T0, until)

        select_rows(), report()  # warm the caches both read through
        base = min(timed(select_rows)[0] for _ in range(3))
        took, found = min((timed(report) for _ in range(3)), key=lambda pair: pair[0])
        stances = sum(f.asked for f in found.sides.values())
        print(f"history rows: {count}; leaders asked (= stances): {stances}")
        print(f"bare SELECT of the history: {base * 1000:.0f} ms")
        print(f"the report:                 {took * 1000:.0f} ms")
        print(f"ratio: {took / base:.2f}x (target: at most 3x)")
        repo.engine.dispose()


if __name__ == "__main__":
    main()
