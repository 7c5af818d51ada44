"""The one small interface every platform adapter implements. The core never imports a
platform SDK; adapters translate platform payloads into bot.domain.events and render
bot.text.messages in their platform's idiom."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain.api_calls import ApiCalls
from bot.domain.diagnosis import Check
from bot.domain.events import InboundEvent
from bot.domain.identity import Handle
from bot.ports.installations import Installations
from bot.text.home import Home
from bot.text.messages import Notice, Outcome, ProposalCard, Reminder, Reply
from bot.text.report import ReportMessage

Message = Notice | Outcome | Reminder | ReportMessage

# The operators' paths ([server]); an adapter that runs an HTTP server for its platform
# (a platform's HTTP mode) serves them there too, through CoreServices.operator_page.
OPERATOR_PATHS = ("/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class OperatorPage:
    """One answer of the operators' server: what to send back, as it is."""

    status: int
    content_type: str
    body: bytes


def no_handle(token: str) -> str | None:
    """A platform with no syntax of its own for a person: every name is a name."""
    return None


@dataclass(frozen=True)
class PlatformTraits:
    """What the core knows of a platform, as its plug-in says: its name, how a person is
    written in a command there (`handle_in`: a token → that person's id on it, or None),
    and whether its circles and people are their names (the console: no channels, no
    ids), instead of the channels and handles its adapter reads from the config."""

    name: str
    handle_in: Callable[[str], str | None] = field(default=no_handle)
    by_name: bool = False
    title: str = ""  # how people call the platform, in what operators read

    @property
    def called(self) -> str:
        return self.title or self.name

    def person(self, token: str) -> Handle | None:
        found = self.handle_in(token)
        return None if found is None else Handle(self.name, found)


def traits_of(platform: str | PlatformTraits) -> PlatformTraits:
    """A platform given by its name alone is known by its names (as the console)."""
    if isinstance(platform, PlatformTraits):
        return platform
    return PlatformTraits(platform, by_name=True)


class NotAccepted(Exception):
    """An inbound event could not be stored: do not tell the platform it arrived."""


class EventSink(Protocol):
    """Where an adapter hands inbound events: the runtime."""

    def __call__(self, event: InboundEvent) -> Awaitable[None]:
        """Apply `event`. One that went through accept() is applied after every event
        stored before it."""

    def accept(self, event: InboundEvent) -> Awaitable[bool]:
        """Store `event` so that no crash can lose it; returns once it is durable. For
        platforms that never resend what they got an answer for: call this before
        answering, then (when it says True) call the sink with the event. False: the same
        event was taken before (a resend, the same request on another replica or before a
        restart): answer it, and hand it over no more. Raises NotAccepted when it cannot
        be stored (then answer so that the platform retries, or the person knows)."""


class CoreServices(Protocol):
    """What the core offers an adapter besides taking its events: a few read-only
    questions, and a place for the adapter's own resume positions (a sync token) in the
    bot's database. Each runs on the core's thread; the adapter awaits it."""

    # `workspace`: with many workspaces, the one asked about (a channel id may
    # be in several); None: the platform's only one.

    async def circle_at(
        self, platform: str, channel: str, workspace: str | None = None
    ) -> str | None:
        """The name of the circle bound to this channel or room; None if none is."""

    async def is_member(
        self, platform: str, channel: str, user: str, workspace: str | None = None
    ) -> bool:
        """Whether `user` is a member of the circle bound to `channel`."""

    async def home(self, platform: str, user: str, workspace: str | None = None) -> Home:
        """`user`'s overview of their circles (a platform's home page): of `workspace` alone."""

    async def cursor(self, name: str) -> str | None:
        """A resume position the adapter stored under `name`."""

    async def set_cursor(self, name: str, value: str) -> None: ...

    async def unresolved_emails(self, platform: str) -> list[str]:
        """Members' e-mail addresses (in the config) not yet looked up on `platform`."""

    async def email_resolved(self, platform: str, address: str, user_id: str) -> list[str]:
        """`address` is `user_id` on `platform`: kept, and given to the members configured
        with it. Returns warnings for the log (an id another member already has)."""

    async def operator_page(self, path: str) -> OperatorPage | None:
        """The answer to GET `path` for one of OPERATOR_PATHS (None for another path)."""


class Sender(Protocol):
    """What goes out to a platform: cards, posts, private replies, reading reactions
    back. Every Adapter is one; an adapter serving several workspaces also gives one per
    workspace (Workspaces)."""

    # `key` is unique per message and stable across retries: platforms that can
    # deduplicate sends (transaction ids) use it so a retry never posts twice.
    # `since` is when an earlier try of the same post began, in this process or one that
    # died before it could record the reference: a platform that cannot deduplicate by
    # key looks for that post before posting again.

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        """Post a proposal's card; returns its message reference (its thread root)."""

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        """Show `card` (the proposal's `version`th state) on the posted card; `key` is
        the card's, the same for every edit. An older version than one already shown
        may be dropped."""

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        """Post in the channel, or in the thread of `thread_ref`; returns a reference.
        A Reminder also reaches each waiting person in the platform's own way."""

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        """Answer one person's command so that only they see it."""

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        """(user, emoji, when added if the platform says) for each reaction now on a
        message, for reconciling; None when the platform cannot tell."""


@runtime_checkable
class Workspaces(Protocol):
    """An adapter whose one app serves several workspaces (installed through
    OAuth): what goes out for a circle goes out in the circle's workspace."""

    def in_workspace(self, workspace: str) -> Sender:
        """The adapter's sending, as the app installed in `workspace`."""


def sender_for(adapter: Adapter, workspace: str | None) -> Sender:
    """Where to send what belongs in `workspace` (None: the platform's only one)."""
    if workspace is not None and isinstance(adapter, Workspaces):
        return adapter.in_workspace(workspace)
    return adapter


@runtime_checkable
class KeepsInstallations(Protocol):
    """An adapter whose app is installed through OAuth in many workspaces: the wiring
    gives it where the installations are kept (the bot's database, tokens sealed)
    before start() or diagnose()."""

    @property
    def needs_installations(self) -> bool:
        """Whether this adapter's config installs its app through OAuth."""

    def keep_installations_in(self, installations: Installations) -> None: ...


class Adapter(Sender, Protocol):
    platform: str
    # Least seconds between two edits of one card (platform rate limits); 0: no limit.
    edit_interval: float
    # The platform sends an event again until it is acknowledged (a sync from a
    # stored position): one the database refused is raised back (NotAccepted).
    redelivers: bool
    # The platform can answer one person alone (ephemeral messages): a reaction that
    # changed nothing (after the close) is answered privately; elsewhere it stays silent.
    private_replies: bool

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        """Connect, and hand every inbound event to `sink` from now on; `services`
        answers the adapter's questions to the core."""

    async def run(self) -> None:
        """Serve until stopped (or, for the console, until the input ends)."""

    async def stop(self) -> None: ...

    def readiness(self) -> str | None:
        """None while connected and serving; else what is wrong, said for an operator
        (/readyz)."""

    def api_calls(self) -> ApiCalls:
        """The adapter's calls to its platform's API so far (/metrics)."""

    async def set_leading(self, leading: bool) -> None:
        """Whether this replica leads (bot.ports.leadership). What must run in one replica at
        a time (a platform's sync) runs only while it does; the rest works everywhere.
        Called before start() with False when replicas take turns, then on each change."""

    async def diagnose(self, services: CoreServices) -> list[Check]:
        """`circlebot doctor`: check, without starting, what an operator can get wrong on
        this platform (the token, permissions, each circle's channel or room, each
        member's id), one Check each. Never says a secret."""
