"""The one exception the ingest stage raises for a file it cannot use."""


class IngestError(Exception):
    """A file that cannot be ingested; str(e) is a clear reason for a person, e.g. 'PDF is encrypted (password required)'."""
