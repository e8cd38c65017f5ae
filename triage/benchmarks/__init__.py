"""Benchmarks of the triage path and the Rasa-shaped events they and the tests write (not product code)."""
