"""The same api tests on PostgreSQL (127.0.0.1:5432, db ``test``): each test gets a schema of its own.

The imported tests below run again here with ``db_url`` pointing at PostgreSQL, so the queries
(filters, aggregates, JSON columns, optimistic locking) are checked on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import temporary_schema
from tests.unit.api.test_actions import (  # noqa: F401 - collected again on PostgreSQL
    c1,
    test_accept_reply_resolve_flow,
    test_reassign_priority_and_unflag,
    test_stale_version_is_a_409_and_changes_nothing,
    test_unknown_and_sql_like_ids_are_404,
)
from tests.unit.api.test_audit_feed import (  # noqa: F401
    only_the_tests_records,
    test_an_agent_sees_their_queues_and_their_own_actions_only,
    test_supervisor_reads_everything_after_an_id_or_the_newest_first,
)
from tests.unit.api.test_auth import (  # noqa: F401
    test_logout_ends_the_session_on_the_server,
    test_logout_with_a_bearer_token_revokes_that_token_only,
)
from tests.unit.api.test_conversations import (  # noqa: F401
    test_agents_see_their_queues_and_supervisors_see_all,
    test_audit_trail,
    test_detail_has_transcript_trajectory_and_escalation,
    test_filters,
    three,
)
from tests.unit.api.test_dashboard import (  # noqa: F401
    test_agents_with_load_and_setting_my_status_requeues,
    test_feedback_is_stored_and_drives_flag_precision,
    test_figures,
    test_figures_that_say_what_they_mean,
    test_median_first_reply_of_an_odd_count_is_the_middle_wait,
    test_queues_show_waiting_time_sla_and_breaches,
)
from tests.unit.api.test_export import (  # noqa: F401
    judged,
    test_a_cell_a_spreadsheet_would_run_is_text_in_csv_only,
    test_a_large_export_is_streamed_in_batches,
    test_each_kind_in_csv_and_json_with_the_same_rows,
    test_every_export_is_audited_before_it_is_sent,
    test_the_range_selects_rows,
)
from tests.unit.api.test_live import (  # noqa: F401
    test_agent_gets_only_their_queues_and_new_records_arrive,
    two,
)
from tests.unit.api.test_search import (  # noqa: F401
    searchable,
    test_a_search_without_words_or_too_long_is_a_clear_422,
    test_engine_syntax_and_sql_in_a_search_are_words,
    test_search_keeps_visibility_and_combines_with_filters,
    test_the_index_follows_edits_deletes_and_erasure,
    test_words_phrases_and_prefixes_find_the_conversation,
)
from tests.unit.api.test_stale_retry import (  # noqa: F401
    test_a_row_changed_on_every_try_is_a_409_after_the_last,
    test_a_versioned_action_on_a_changed_row_is_a_409_that_changes_nothing,
    test_an_agent_reply_during_the_customers_next_message_is_stored_and_sent_once,
    test_an_unversioned_action_runs_again_on_the_fresh_row,
    test_the_bots_handoff_during_the_customers_message_is_taken,
)
from triage.storage.migrate import upgrade

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with temporary_schema("api") as url:
        upgrade(url)
        yield url
