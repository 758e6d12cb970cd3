"""Who is looking: the person a page, a digest or a gap list is for, with the groups they may read.

One shape for the app's signed-in user, the command line's `--as USER` and the local operator, so the
updates, gaps and digest modules apply the same access rules whichever door a request came through.
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant.settings import EVERYONE

LOCAL = "local"  # the local operator (no sign-in, no --as): reads everything, like an admin


class Viewer(BaseModel):
    username: str = LOCAL
    name: str = ""
    email: str = ""
    groups: list[str] | None = None  # None: no restriction
    is_admin: bool = True

    @classmethod
    def from_user(cls, user) -> "Viewer":
        """From an assistant.access.User, or None for the local operator."""
        if user is None:
            return cls()
        return cls(username=user.username, name=user.name or user.username, email=user.email,
                   groups=sorted(set(user.groups) | {EVERYONE}), is_admin=user.is_admin)

    @classmethod
    def for_username(cls, username: str | None) -> "Viewer":
        """`--as USER` on the command line; raises SystemExit naming the users file for an unknown user."""
        from assistant.access import load_users, users_file

        if not username:
            return cls()
        user = load_users().get(username)
        if user is None:
            raise SystemExit(f"Unknown user {username!r}: add them to {users_file()}")
        return cls.from_user(user)

    @classmethod
    def public(cls) -> "Viewer":
        """Nobody in particular: what every member may see (digests mailed to plain addresses)."""
        return cls(username="", name="everyone", groups=[EVERYONE], is_admin=False)

    @property
    def label(self) -> str:
        return self.name or self.username or "everyone"

    def may_read(self, groups: list[str] | None) -> bool:
        """Whether something carrying these groups (None: unrestricted content) is readable."""
        if self.groups is None:
            return True
        return groups is None or bool(set(groups) & set(self.groups))
