"""Custom actions for the Northwind Pay assistant (run by `rasa run actions --actions actions` in bot/)."""
