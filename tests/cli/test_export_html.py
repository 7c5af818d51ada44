"""`circlebot export --format html`: one self-contained page, checked as text and in a
real headless Chromium (Debian's `chromium`): the DOM it builds, the search filter, the
layout at phone width, and screenshots at phone and desktop widths.

Chromium is needed: without it these browser tests are skipped locally and fail in CI
(CI=true), as the PostgreSQL tests do."""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.queries.export import export_decisions
from tests.ci import unavailable
from tests.cli.export_scenario import (
    HOSTILE_NAME,
    HOSTILE_STATEMENT,
    HOSTILE_TEXT,
    SPANISH_TEXT,
    STATEMENTS,
    Log,
    build,
)

PHONE = (375, 812)
DESKTOP = (1280, 900)
DECISIONS = [1, 2, 3, 4, 5]  # 6 is still open


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    made = build(tmp_path_factory.mktemp("log") / "log.db")
    yield made
    made.repo.engine.dispose()


@pytest.fixture(scope="module")
def page(log: Log, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "decision-log.html"
    text = export_decisions(log.repo, log.specs, "html", now=log.clock.now())
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the file


class Elements(HTMLParser):
    """Every element of a page: (tag, attributes), and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def by_tag(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]

    def by_class(self, css: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.elements if css in (a.get("class") or "").split()]


def parse(text: str) -> Elements:
    found = Elements()
    found.feed(text)
    found.close()
    return found


def test_the_page_is_one_self_contained_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "http:" not in text and "https:" not in text and "//" not in text
    style = text[text.index("<style>") : text.index("</style>")]
    for fetch in ("url(", "@import", "@font-face"):
        assert fetch not in style
    found = parse(text)
    assert not [attrs for _, attrs in found.elements if "src" in attrs or "srcset" in attrs]
    tags = {tag for tag, _ in found.elements}
    assert not tags & {"img", "link", "iframe", "object", "embed", "video", "audio"}
    # The report's charts are inline SVG drawn from shapes and text alone: nothing in
    # them can point elsewhere (no image, use, foreignObject, nor any href but a link's).
    assert "svg" in tags
    assert not tags & {"image", "use", "foreignobject", "feimage"}
    assert not [t for t, a in found.elements if t != "a" and ("href" in a or "xlink:href" in a)]
    assert len(found.by_tag("script")) == 1 and found.by_tag("script")[0] == {}
    assert len(found.by_tag("style")) == 1
    viewport = [m for m in found.by_tag("meta") if m.get("name") == "viewport"]
    assert viewport == [{"name": "viewport", "content": "width=device-width, initial-scale=1"}]
    # Links stay inside the page.
    assert all((a.get("href") or "").startswith("#") for a in found.by_tag("a"))


def test_hostile_texts_are_text_and_nothing_else(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = parse(text)
    for _, attrs in found.elements:
        assert not [name for name in attrs if name.startswith("on")], attrs
    assert "<script>document" not in text and "<img" not in text and "<b>" not in text
    assert "&quot;onerror=" in text and ' "onerror=' not in text
    words = "".join(found.text)
    for hostile in (HOSTILE_TEXT, HOSTILE_STATEMENT, HOSTILE_NAME):
        assert hostile in words  # shown as typed
    assert len([a for a in found.by_tag("article") if "decision" in (a.get("class") or "")]) == 5


def test_the_page_shows_each_decision_with_its_statement_bars_and_history(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = parse(text)
    words = "".join(found.text)
    ids = [a["id"] for a in found.by_tag("article")]
    assert ids == [f"decision-{n}" for n in DECISIONS]
    assert "Circle council" in words
    assert "✅ Proposal #1 passed (round 1)" in words
    assert "✋ Proposal #2 is blocked (round 1)" in words
    assert "⌛ Proposal #5 closed without quorum (round 2)" in words
    assert "Open a second office" not in words  # still open: not a decision
    # The outcome statement, its author, and the version it replaced.
    assert "Outcome statement" in words and STATEMENTS[1] in words
    assert "Earlier version of the outcome statement (1)" in words and STATEMENTS[0] in words
    # Closed early, and by whom; a proxied stance.
    assert "Closed early by" in words
    assert "Consent: ben (for ana), ben" in words
    assert "Answered by a proxy" in words
    assert "ben answers for ana in this round." in words
    assert "ana is away until" in words
    # Two bars per decision (one per side), each labelled for screen readers.
    bars = found.by_class("bar")
    assert len(bars) == 2 * len(DECISIONS)
    assert all(b.get("role") == "img" and b.get("aria-label") for b in bars)
    assert bars[0]["aria-label"] == (
        "milpa: 2 leaders; consent: 1, concern: 1, stand aside: 0, object: 0, "
        "not answered: 0; the side consented."
    )
    # Each side's bar is whole: its segments add up to 100 %, whatever its size.
    widths = [
        float((s.get("style") or "").removeprefix("width:").removesuffix("%"))
        for s in found.by_class("seg")
    ]
    assert round(sum(widths)) == 100 * len(bars)
    legend = found.by_class("legend")
    assert len(legend) == 1 and found.by_class("swatch")
    for label in ("Consent", "Concern", "Stand aside", "Object", "Not answered"):
        assert label in words
    assert "Rounds and history" in words
    assert "Round 2, opened" in words and "dee amended it." in words
    assert "Outcome: blocked (closed by cy)." in words


def test_the_page_in_spanish_is_marked_so_and_uses_the_catalogue(log: Log) -> None:
    text = export_decisions(log.repo, log.specs, "html", language="es")
    assert text.startswith('<!DOCTYPE html>\n<html lang="es">')
    words = "".join(parse(text).text)
    assert "Consiento" in words and "Plazo" in words  # texts the catalogue has
    assert "lun, 5 de ene de 2026" in words


# --------------------------------------------------------------------------- the report

FIGURES = [
    "Proposals authored",
    "Objections, concerns",
    "Answered in time",
    "Time to answer",
    "Reminders needed",
    "Facilitation",
    "Across sides",
]


def charts_of(text: str) -> list[tuple[str, str, str, list[float]]]:
    """Each chart: its accessible name, description, the ids it is labelled by, and the
    width of each side's bar (the second rectangle of each row; the first is the track)."""
    found = []
    for svg in re.findall(r"<svg .*?</svg>", text, flags=re.S):
        [labelled] = re.findall(r'aria-labelledby="([^"]+)"', svg)
        [(title_id, title)] = re.findall(r'<title id="([^"]+)">([^<]*)</title>', svg)
        [(desc_id, desc)] = re.findall(r'<desc id="([^"]+)">([^<]*)</desc>', svg)
        assert labelled == f"{title_id} {desc_id}"
        assert 'role="img"' in svg
        widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
        found.append((html.unescape(title), html.unescape(desc), labelled, widths[1::2]))
    return found


def test_the_report_is_a_chart_per_figure_each_with_a_text_equivalent(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = parse(text)
    [section] = found.by_class("report")
    assert section["aria-labelledby"] == "report-1-h"
    words = "".join(found.text)
    assert "The circle's own report, Oct 10, 2025 – Jan 8, 2026" in words
    charts = charts_of(text)
    assert [title for title, *_ in charts] == FIGURES
    ids = [labelled for _, _, labelled, _ in charts]
    assert len(set(ids)) == len(ids)  # each chart names its own title and description
    authored, raised, in_time = charts[0], charts[1], charts[2]
    # Hand-counted from the scenario: milpa wrote 1, 3 (passed) and 4 (withdrawn); vera
    # 2 (blocked), 5 (no quorum) and 6 (still open).
    assert authored[1] == (
        "milpa: 3 (2 passed, 0 blocked, 0 without quorum or consent, 1 withdrawn); "
        "vera: 3 (0 passed, 1 blocked, 1 without quorum or consent, 0 withdrawn)"
    )
    assert authored[3] == [300.0, 300.0]  # as many each: two full bars
    assert raised[3] == [300.0, 150.0]  # milpa raised two (one of each), vera one
    assert in_time[1] == "milpa: 4 of 12 (33%); vera: 6 of 12 (50%)"
    assert in_time[3] == [100.0, 150.0]  # a share of the whole width
    # One plain sentence for a figure one side holds more than two thirds of.
    assert "milpa raised 1 of 1 concern." in words
    # The same figures as a table, hidden from sight but not from screen readers.
    assert len(found.by_tag("table")) == 1
    assert '<div class="visually-hidden"><table>' in text
    assert "The report's figures, per side" in words
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', text)
    assert [html.unescape(name) for name, _ in rows] == FIGURES
    cells = re.findall(r"<td>([^<]*)</td>", rows[0][1])
    assert [html.unescape(c) for c in cells] == [
        "3 (2 passed, 0 blocked, 0 without quorum or consent, 1 withdrawn)",
        "3 (0 passed, 1 blocked, 1 without quorum or consent, 0 withdrawn)",
    ]


def test_the_report_in_spanish_uses_the_catalogue_and_spanish_numbers(log: Log) -> None:
    text = export_decisions(log.repo, log.specs, "html", language="es", now=log.clock.now())
    words = "".join(parse(text).text)
    assert "El informe propio del círculo, 10 oct 2025 – 8 ene 2026" in words
    assert "Un espejo, no una puntuación" in words
    charts = charts_of(text)
    assert charts[0][0] == "Propuestas presentadas"
    assert charts[2][1].startswith("milpa: 4 de 12 (33 %)")
    assert "33\xa0%" in words  # the chart's own figure, as Spanish writes a percentage
    assert "Las cifras del informe, por parte" in words


def test_a_circle_with_nothing_in_the_period_has_empty_charts(log: Log) -> None:
    later = log.clock.now() + timedelta(days=365)
    text = export_decisions(log.repo, log.specs, "html", now=later)
    charts = charts_of(text)
    assert [title for title, *_ in charts] == FIGURES
    assert all(widths == [0.0, 0.0] for *_, widths in charts)
    assert charts[2][1] == "milpa: nobody asked yet; vera: nobody asked yet"


def test_an_empty_log_is_a_page_too(tmp_path: Path) -> None:
    from storage import open_repository

    repo = open_repository(f"sqlite:///{tmp_path}/empty.db")
    try:
        text = export_decisions(repo, [], "html")
    finally:
        repo.engine.dispose()
    assert "No decisions recorded yet." in "".join(parse(text).text)


# --------------------------------------------------------------------------- Chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("Chromium", "chromium is not installed (Debian: apt-get install chromium)")
    return path


def run_chromium(chromium: str, tmp: Path, url: str, *args: str) -> str:
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'profile'}",
        *args,
        url,
    ]
    if os.geteuid() == 0:  # Chromium's sandbox refuses to start as root
        command.insert(1, "--no-sandbox")
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dom(chromium: str, tmp: Path, url: str, width: int = DESKTOP[0]) -> Elements:
    out = run_chromium(chromium, tmp, url, f"--window-size={width},900", "--dump-dom")
    return parse(out)


def visible(found: Elements) -> list[str]:
    return [
        str(a["id"])
        for a in found.by_tag("article")
        if "decision" in (a.get("class") or "") and "hidden" not in a
    ]


def test_chromium_builds_the_page_and_runs_none_of_its_texts(
    chromium: str, page: Path, tmp_path: Path
) -> None:
    found = dom(chromium, tmp_path, page.as_uri())
    [body] = found.by_tag("body")
    assert "data-pwned" not in body, body  # neither hostile script nor handler ran
    assert len(found.by_tag("script")) == 1  # ours; the proposal's is text
    assert not found.by_tag("img") and not found.by_tag("b")
    words = "".join(found.text)
    assert HOSTILE_TEXT in words and HOSTILE_STATEMENT in words and HOSTILE_NAME in words
    assert visible(found) == [f"decision-{n}" for n in DECISIONS]
    [form] = found.by_tag("form")
    assert "hidden" not in form  # the script ran: the search box is offered
    assert len(found.by_class("bar")) == 2 * len(DECISIONS)
    assert STATEMENTS[1] in words and SPANISH_TEXT in words


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        ("salon sabados", ["decision-3"]),  # accents folded: salón, sábados
        ("VISITING policy", ["decision-1"]),
        ("february", ["decision-1", "decision-2"]),  # statements are searched too
        ("ben", ["decision-1", "decision-3"]),  # who answered, proposed or closed
        ("#4", ["decision-4"]),
    ],
)
def test_the_search_box_filters_decisions_in_chromium(
    chromium: str, page: Path, tmp_path: Path, words: str, shown: list[str]
) -> None:
    found = dom(chromium, tmp_path, f"{page.as_uri()}#q={quote(words)}")
    assert visible(found) == shown
    [box] = found.by_tag("input")
    status = [a for a in found.by_tag("p") if a.get("id") == "shown"]
    assert status and box.get("id") == "q"
    said = "".join(found.text)
    assert f"{len(shown)} of {len(DECISIONS)} decisions shown" in said


def test_a_search_that_matches_nothing_says_so(chromium: str, page: Path, tmp_path: Path) -> None:
    found = dom(chromium, tmp_path, f"{page.as_uri()}#q=nothing%20like%20this")
    assert visible(found) == []
    assert "No decision matches these words." in "".join(found.text)
    [circle] = [a for a in found.by_tag("section") if "circle" in (a.get("class") or "")]
    assert "hidden" in circle


# Headless Chromium's window is at least 500 px wide, so the page is laid out in a frame
# of the width asked for, every history opened, and measured from the page around it.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="frame" style="border:0;width:{width}px;height:800px" srcdoc="{page}"></iframe>
<script>
document.getElementById("frame").addEventListener("load", function () {{
  var inner = this.contentDocument;
  inner.querySelectorAll("details").forEach(function (d) {{ d.open = true; }});
  document.body.setAttribute("data-layout",
    inner.documentElement.scrollWidth + "x" + inner.documentElement.clientWidth);
}});
</script></body></html>"""


@pytest.mark.parametrize("width", [PHONE[0], 320, DESKTOP[0]])
def test_no_horizontal_scroll_at_phone_width(
    chromium: str, page: Path, tmp_path: Path, width: int
) -> None:
    """Measured in Chromium: the page is no wider than its window."""
    probe = tmp_path / "probe.html"
    inner = html.escape(page.read_text(encoding="utf-8"), quote=True)
    probe.write_text(PROBE.format(width=width, page=inner), encoding="utf-8")
    found = dom(chromium, tmp_path, probe.as_uri(), width=max(width + 100, 600))
    [body] = found.by_tag("body")
    scroll, window = map(int, str(body["data-layout"]).split("x"))
    assert window == width
    assert scroll <= window, f"{scroll} px of content in a {window} px window"


CHARTS_PROBE = PROBE.replace(
    'inner.documentElement.scrollWidth + "x" + inner.documentElement.clientWidth);',
    'inner.documentElement.clientWidth + ";" + Array.prototype.map.call('
    'inner.querySelectorAll(".report svg"), function (svg) {{'
    "  var box = svg.getBoundingClientRect();"
    '  return Math.round(box.left) + "-" + Math.round(box.right) + "x" + Math.round(box.height);'
    '}}).join(" "));',
)


@pytest.mark.parametrize("width", [320, DESKTOP[0]])
def test_the_report_charts_are_drawn_whole_and_readable_in_chromium(
    chromium: str, page: Path, tmp_path: Path, width: int
) -> None:
    """Each chart is laid out inside the page, wide enough for its text to stay readable
    on a phone, and no wider than a comfortable line on a desktop."""
    probe = tmp_path / "probe.html"
    inner = html.escape(page.read_text(encoding="utf-8"), quote=True)
    probe.write_text(CHARTS_PROBE.format(width=width, page=inner), encoding="utf-8")
    found = dom(chromium, tmp_path, probe.as_uri(), width=max(width + 100, 600))
    [body] = found.by_tag("body")
    window, boxes = str(body["data-layout"]).split(";")
    charts = [tuple(map(int, re.split("[-x]", box))) for box in boxes.split()]
    assert len(charts) == len(FIGURES)
    for left, right, height in charts:
        assert 0 <= left < right <= int(window)
        assert 250 <= right - left <= 420, (left, right)  # its text near 13 px, never tiny
        assert height > 40


# A PNG reader just big enough for Chromium's screenshots (8-bit RGB or RGBA, not
# interlaced), to look at the pixels without another dependency.


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + nearest) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = [row[x : x + 3] for row in rows for x in range(0, stride, size)]
    return width, height, pixels


def test_the_readme_shows_the_report_as_the_page_draws_it() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "(docs/circle-report.png)" in (root / "README.md").read_text(encoding="utf-8")
    width, height, pixels = png_pixels((root / "docs" / "circle-report.png").read_bytes())
    colours = {bytes(p) for p in pixels}
    assert width >= 900 and height >= 600
    assert bytes((0x15, 0x65, 0xC0)) in colours and bytes((0x8E, 0x24, 0xAA)) in colours


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots_at_phone_and_desktop_widths(
    chromium: str, page: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    shot = tmp_path / "shot.png"
    run_chromium(
        chromium,
        tmp_path,
        page.as_uri(),
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={shot}",
    )
    data = shot.read_bytes()
    width, height, pixels = png_pixels(data)
    assert (width, height) == size
    colours = {bytes(p) for p in pixels}
    assert len(colours) > 50, f"{len(colours)} colours: a blank page?"
    # The bars' colours are on screen: green for consent, red for the objection.
    assert bytes((0x2E, 0x7D, 0x32)) in colours  # consent
    assert bytes((0xC6, 0x28, 0x28)) in colours  # object
    # And the report's charts, above the decisions: each side's colour.
    assert bytes((0x15, 0x65, 0xC0)) in colours  # milpa
    assert bytes((0x8E, 0x24, 0xAA)) in colours  # vera
    inked = sum(1 for p in pixels if p != bytes((0xF6, 0xF5, 0xF2)))
    assert inked > len(pixels) // 10, "mostly background"
