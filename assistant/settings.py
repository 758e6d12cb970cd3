"""Every setting in one place, read once from the environment and an optional file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EVERYONE = "everyone"


class Settings(BaseSettings):
    """Configuration. Environment variables win over the file named by PRECEDENT_CONFIG (default .env)."""

    model_config = SettingsConfigDict(
        env_prefix="PRECEDENT_",
        env_file=os.environ.get("PRECEDENT_CONFIG", ".env"),
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(default=Path("data"), description="Store, originals, feedback and logs.")
    chroma_url: str | None = Field(default=None, description="Chroma server URL; unset = embedded store.")
    collection: str = Field(default="precedent", description="Chroma collection name prefix.")
    embeddings: Literal["local", "openai"] = "local"
    embedding_model: str = Field(default="text-embedding-3-small", description="Used when embeddings=openai.")

    # OpenAI-compatible LLM. Without a base URL or key, answers are extractive.
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(default=30.0, description="Seconds per LLM request.")
    llm_retries: int = 1
    llm_max_tokens: int = Field(default=512, description="Longest answer the LLM may write, in tokens.")
    llm_judge: bool = Field(default=True, description="With an LLM, ask it for a quoted second opinion on the verdict.")

    # Ingest limits.
    max_file_mb: float = 50.0
    max_unzipped_mb: float = 200.0
    parse_timeout: float = Field(default=120.0, description="Seconds allowed to parse one file.")
    workers: int = Field(default=2, description="Parallel parser processes.")
    ignore: list[str] = Field(
        default=["LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "~$*", "*.tmp", "Thumbs.db", "desktop.ini"],
        description="File-name patterns skipped inside ingested folders (not project documents).")
    worker_memory_mb: int = Field(default=4096, description="Address space a parser process may add while parsing.")

    # Retrieval.
    top_k: int = 40
    max_projects: int = 5
    lexical_refresh_seconds: float = Field(
        default=2.0, description="How often an app instance checks the shared store for other writers."
    )
    lexical_background_docs: int = Field(
        default=300, description="A lexical index behind by more documents than this is built in the background, "
                                 "and answers come from dense search until it is ready.")

    # Writers on a shared store take a lease kept in the store; a writer that dies loses it after this long.
    writer_lease_seconds: float = Field(default=30.0, description="How long a writer's lease lasts unless renewed.")
    writer_wait_seconds: float = Field(default=900.0, description="How long a writer waits for another's lease.")

    # Access. Rules map a source-path prefix to groups, e.g. {"finance/": ["finance"]}.
    default_groups: list[str] = [EVERYONE]
    group_rules: dict[str, list[str]] = {}
    users_file: Path | None = Field(default=None, description="Local accounts (YAML); default DATA_DIR/users.yaml.")
    auth: Literal["none", "local", "header"] = "none"
    auth_header: str = "X-Forwarded-User"

    # The awareness loop: e-mail out (digests, knowledge requests) and knowledge gaps.
    smtp_url: str | None = Field(default=None, description="smtp://[user:pass@]host[:port], smtp+starttls:// or "
                                 "smtps://; unset = no e-mail is sent.")
    smtp_sender: str = Field(default="precedent@localhost", description="From address of digests and requests.")
    smtp_timeout: float = Field(default=10.0, description="Seconds allowed for each SMTP connection and command.")
    digest_recipients: list[str] = Field(default=[], description="Addresses that get the digest (the public view).")
    digest_group: str | None = Field(default=None, description="Users of this group with an e-mail get their own digest.")
    people_emails: dict[str, str] = Field(default={}, description="Person name -> address, for knowledge requests.")
    gap_similarity: float = Field(default=0.6, description="Cosine similarity at which two gap questions cluster.")
    gap_reask_limit: int = Field(default=100, description="Most open gap questions asked again after an ingest.")

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def originals_dir(self) -> Path:
        return self.data_dir / "originals"

    @property
    def updates_dir(self) -> Path:
        """Project updates written from the app, the command line or e-mail, as Markdown files."""
        return self.data_dir / "updates"

    @property
    def state_dir(self) -> Path:
        """Per-instance state: the lexical index, feedback, logs."""
        return self.data_dir / "state"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
