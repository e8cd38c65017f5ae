"""The registry of emotion model and triage policy versions: which are known, which pair is active, and
promotion and rollback by an admin with a reason (see docs/model-registry.md)."""
