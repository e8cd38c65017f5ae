"""The api's unit-test fixtures (the real app on a migrated database; ``db_url`` comes from each module)."""

from tests.unit.api.conftest import client, core, factory, rasa, team  # noqa: F401 - fixtures
