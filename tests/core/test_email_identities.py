"""Members given by e-mail address: looked up once, the id kept in the database and
given to every member configured with that address."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.model import Role
from bot.handlers import email_identities
from tests.core.conftest import Harness, HarnessFactory, make_spec

ANA = "Ana.Lopez@Example.org"


def spec_with_emails(name: str = "council", ana: str = ANA) -> CircleSpec:
    members = (
        MemberSpec("ana", "milpa", Role.LEADER, to_resolve={"slack": ana}),
        MemberSpec("ben", "milpa", Role.LEADER, handles={"slack": "UBEN"}),
        MemberSpec("cy", "vera", Role.LEADER, to_resolve={"slack": "cy@example.org"}),
        MemberSpec("dee", "vera", Role.LEADER, handles={"slack": "UDEE"}),
    )
    return replace(
        make_spec(name), members=members, channels={"slack": Channel(f"C{name.upper()}")}
    )


def slack_id(harness: Harness, circle: str, name: str) -> str | None:
    return next(
        m.handles.get("slack") for m in harness.core.directory.members(circle) if m.name == name
    )


def member_with(harness: Harness, circle: str, user: str) -> str | None:
    found = harness.core.directory.member_for(circle, "slack", user)
    return found.name if found else None


def test_an_address_is_looked_up_once_and_its_id_kept_across_restarts(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness(specs=[spec_with_emails()], platforms=("slack",))
    ctx = h.core.ctx
    assert email_identities.unresolved(ctx, "slack") == [ANA, "cy@example.org"]
    assert slack_id(h, "council", "ana") is None  # nobody can act as ana yet

    assert email_identities.resolve(ctx, "slack", ANA, "UANA") == []
    assert slack_id(h, "council", "ana") == "UANA"
    assert member_with(h, "council", "UANA") == "ana"
    assert email_identities.unresolved(ctx, "slack") == ["cy@example.org"]

    h.restart()  # the same config: the id is read back, not looked up again
    assert slack_id(h, "council", "ana") == "UANA"
    assert email_identities.unresolved(h.core.ctx, "slack") == ["cy@example.org"]


def test_the_address_is_compared_without_case(make_harness: HarnessFactory) -> None:
    h = make_harness(specs=[spec_with_emails()], platforms=("slack",))
    email_identities.resolve(h.core.ctx, "slack", "ana.lopez@example.ORG", "UANA")
    assert slack_id(h, "council", "ana") == "UANA"
    assert email_identities.unresolved(h.core.ctx, "slack") == ["cy@example.org"]


def test_a_config_change_to_the_member_keeps_the_found_id(make_harness: HarnessFactory) -> None:
    spec = spec_with_emails()
    h = make_harness(specs=[spec], platforms=("slack",))
    email_identities.resolve(h.core.ctx, "slack", ANA, "UANA")
    # ana's entry changes (a voice now, her address spelt in lower case): the id stays
    members = tuple(
        replace(m, role=Role.MEMBER, to_resolve={"slack": ANA.lower()}) if m.name == "ana" else m
        for m in spec.members
    )
    h.restart([replace(spec, members=members, admins=())])
    assert slack_id(h, "council", "ana") == "UANA"
    assert h.history(kind="member_change", member="ana")


def test_one_address_in_two_circles_gives_both_the_id(make_harness: HarnessFactory) -> None:
    h = make_harness(
        specs=[spec_with_emails("council"), spec_with_emails("garden")], platforms=("slack",)
    )
    assert email_identities.unresolved(h.core.ctx, "slack") == [ANA, "cy@example.org"]
    email_identities.resolve(h.core.ctx, "slack", ANA, "UANA")
    assert slack_id(h, "council", "ana") == slack_id(h, "garden", "ana") == "UANA"


def test_an_id_another_member_has_is_not_given_and_is_said(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness(specs=[spec_with_emails()], platforms=("slack",))
    warnings = email_identities.resolve(h.core.ctx, "slack", ANA, "UBEN")
    assert warnings == [
        "circle council: Ana.Lopez@Example.org is UBEN, already the Slack id of ben; ana "
        "keeps no Slack id until the config is fixed"
    ]
    assert slack_id(h, "council", "ana") is None
    assert member_with(h, "council", "UBEN") == "ben"


def test_a_member_found_by_address_can_act(make_harness: HarnessFactory) -> None:
    h = make_harness(specs=[spec_with_emails()], platforms=("slack",))
    refused = h.cmd("UANA", "propose Adopt the policy", channel="CCOUNCIL", platform="slack")
    assert not refused[0].ok  # not known yet
    email_identities.resolve(h.core.ctx, "slack", ANA, "UANA")
    replies = h.cmd("UANA", "propose Adopt the policy", channel="CCOUNCIL", platform="slack")
    assert replies[0].ok, replies
