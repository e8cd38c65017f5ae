"""A customer's data across Clearline's and Rasa's stores: export, erasure, retention and access logging.

``rules`` decides (no database); ``clearline`` and ``rasa`` are the stores' adapters; ``service`` is what
the CLI, the api and the worker call. docs/privacy.md describes it for operators.
"""

from triage.privacy.service import (
    ErasureResult,
    PurgeReport,
    RetentionJob,
    Stores,
    erase,
    export,
    purge,
    record_customer_view,
    record_export,
    record_transcript_view,
    user_actor,
    with_linked,
)

__all__ = [
    "ErasureResult",
    "PurgeReport",
    "RetentionJob",
    "Stores",
    "erase",
    "export",
    "purge",
    "record_customer_view",
    "record_export",
    "record_transcript_view",
    "user_actor",
    "with_linked",
]
