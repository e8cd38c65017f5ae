"""Clearline's own tables, their migrations, the outbox, and the adapter between rows and the domain."""
