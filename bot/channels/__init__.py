"""Rasa input channels of Clearline's own (loaded by module path from credentials.yml)."""
