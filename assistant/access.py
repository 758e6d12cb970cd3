"""Who may see what: users, their groups and roles.

Local accounts live in a YAML file (DATA_DIR/users.yaml by default) with bcrypt password hashes:

    users:
      alice: {name: Alice, password: "$2b$12$...", role: admin, groups: [everyone, sales]}
      bob:   {name: Bob, password: "$2b$12$...", role: member, groups: [everyone]}
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from assistant.settings import EVERYONE, get_settings


class User(BaseModel):
    username: str
    name: str = ""
    role: str = "member"  # member | admin
    groups: list[str] = Field(default_factory=lambda: [EVERYONE])
    password: str = ""  # bcrypt hash
    email: str = ""  # where digests and knowledge requests go

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def users_file() -> Path:
    s = get_settings()
    return s.users_file or (s.data_dir / "users.yaml")


def load_users(path: Path | None = None) -> dict[str, User]:
    p = path or users_file()
    if not p.exists():
        return {}
    data = yaml.safe_load(p.read_text()) or {}
    return {u: User(username=u, **(v or {})) for u, v in (data.get("users") or {}).items()}


def save_user(user: User, plain_password: str | None = None, path: Path | None = None) -> None:
    import bcrypt

    p = path or users_file()
    data = yaml.safe_load(p.read_text()) if p.exists() else {}
    data = data or {}
    if plain_password is not None:
        user.password = bcrypt.hashpw(plain_password.encode(), bcrypt.gensalt()).decode()
    data.setdefault("users", {})[user.username] = user.model_dump(exclude={"username"})
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(data, sort_keys=True))


def verify(username: str, password: str, path: Path | None = None) -> User | None:
    import bcrypt

    u = load_users(path).get(username)
    if u and u.password and bcrypt.checkpw(password.encode(), u.password.encode()):
        return u
    return None


def groups_for_user(username: str | None) -> list[str] | None:
    """The groups a named user may read; None (no restriction) for the local operator."""
    if not username:
        return None
    u = load_users().get(username)
    if u is None:
        raise SystemExit(f"Unknown user {username!r}: add them to {users_file()}")
    return sorted(set(u.groups) | {EVERYONE})
