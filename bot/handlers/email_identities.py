"""Members the config gives by what their platform looks them up by (an e-mail address:
`MemberSpec.to_resolve`): the adapter looks each up once on its platform, and the id it
finds is kept in the database and given to every member configured with it."""

from __future__ import annotations

from dataclasses import replace

from bot.state.context import Context


def unresolved(ctx: Context, platform: str) -> list[str]:
    """The configured addresses not looked up yet, each once, in config order."""
    seen: dict[str, str] = {}
    with ctx.store.transaction() as tx:
        for spec in ctx.directory.specs.values():
            for member in spec.members:
                address = member.to_resolve.get(platform)
                if address is None or address.casefold() in seen:
                    continue
                if tx.resolved_identity(platform, address) is None:
                    seen[address.casefold()] = address
    return list(seen.values())


def resolve(ctx: Context, platform: str, address: str, user_id: str) -> list[str]:
    """Keep that `address` is `user_id`, and give that id to the members configured with
    the address. Returns warnings: an id that another member of the circle already has
    is not given (two members would be one person)."""
    warnings: list[str] = []
    directory = ctx.directory
    with ctx.store.transaction() as tx:
        tx.set_resolved_identity(platform, address, user_id, ctx.clock.now())
        for spec in directory.specs.values():
            named = [
                m.name
                for m in spec.members
                if (given := m.to_resolve.get(platform)) is not None
                and given.casefold() == address.casefold()
            ]
            if not named:
                continue
            members = directory.members(spec.name)
            for member in members:
                if member.name not in named or member.handles.get(platform) == user_id:
                    continue
                holder = directory.member_for(spec.name, platform, user_id)
                if holder is not None:
                    called = directory.called(platform)
                    warnings.append(
                        f"circle {spec.name}: {address} is {user_id}, already the {called} id "
                        f"of {holder.name}; {member.name} keeps no {called} id until the "
                        "config is fixed"
                    )
                    continue
                handles = {**member.handles, platform: user_id}
                tx.upsert_member(directory.circle_id(spec.name), replace(member, handles=handles))
            directory.reload(tx, spec)
    return warnings
