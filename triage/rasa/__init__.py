"""Everything Clearline knows of Rasa: its HTTP API (the client) and the shape of its events."""
