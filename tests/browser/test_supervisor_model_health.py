"""The supervisor's "Model health" panel in a real browser: a drifting day of the active model's scores
is marked with its reasons, and the bias audit plots the segments and warns about the one that differs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from triage.registry.active import active_model
from triage.registry.tables import ModelVersion
from triage.storage.db import (
    Conversation,
    Message,
    Sender,
    make_engine,
    make_session_factory,
    session_scope,
    utcnow,
)

pytestmark = pytest.mark.browser

SHADOW = "candidate@shadow"
ODD_CHANNEL = "<b>web</b>"  # a segment's name is data: shown as text, never as markup


@pytest.fixture(scope="module")
def scored(api: RunningApi) -> None:
    """Today: 60 angry messages of the active model on one channel, 60 calm ones on another."""
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        model = active_model(session)
        assert model is not None, "the api registers the configured model on first start"
        now = utcnow() - timedelta(minutes=5)
        for channel, stress, labels in (("telegram", 0.95, ["anger"]), (ODD_CHANNEL, 0.05, ["neutral"])):
            for i in range(6):
                cid = f"health-{channel}-{i}"
                session.add(Conversation(id=cid, channel=channel, started_at=now, last_message_at=now))
                session.flush()
                for j in range(10):
                    shadowed = i == 0 and j < 3  # the shadow saw three of them and never flagged
                    session.add(
                        Message(
                            conversation_id=cid,
                            sender=Sender.CUSTOMER,
                            text="where is my card",
                            stress=stress,
                            flagged=stress >= 0.5,
                            labels=labels,
                            model_version=model.version,
                            created_at=now,
                            shadow_stress=0.1 if shadowed else None,
                            shadow_flagged=False if shadowed else None,
                            shadow_model_version=SHADOW if shadowed else None,
                        )
                    )
        session.add(
            ModelVersion(
                version=SHADOW,
                path="/nowhere",
                weights_digest="0" * 64,
                added_by="root",
                shadow=True,
                shadow_since=now - timedelta(minutes=1),
            )
        )


def test_drift_and_bias_are_shown_with_their_reasons(page: Page, api: RunningApi, scored: None) -> None:
    sign_in(page, api, "sam")
    panel = page.locator("#model-health-panel")
    drifting = panel.locator("#drift-table tbody tr.breached")
    expect(drifting).to_have_count(1)
    expect(drifting).to_contain_text("stress PSI")
    expect(panel).to_contain_text("against its reference")
    channel_plot = panel.locator("figure[data-dimension='channel'] svg.rate-plot")
    expect(channel_plot).to_have_count(1)
    expect(channel_plot).to_contain_text(ODD_CHANNEL)  # literal text: the markup was not interpreted
    expect(channel_plot.locator("b")).to_have_count(0)
    expect(channel_plot.locator("rect.warn")).to_have_count(2)  # both channels are far from the overall rate
    expect(panel.locator("#bias-warnings")).to_contain_text("flag rate of channel 'telegram'")
    expect(panel.locator("#shadow-summary")).to_contain_text(SHADOW)
    expect(panel.locator("#shadow-summary")).to_contain_text("6 message(s) in the window")
    expect(panel.locator("#shadow-table tbody tr")).to_have_count(3)  # the telegram ones: flag vs none
    expect(panel.locator("#shadow-table tbody tr").first).to_contain_text("health-telegram-0")
    page.select_option("#bias-metric", "escalation_rate")
    expect(panel.locator("svg[aria-label='escalation rate by channel']")).to_have_count(1)
