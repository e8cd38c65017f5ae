"""Watching the model in production: drift against its reference, and a bias audit by segment."""
