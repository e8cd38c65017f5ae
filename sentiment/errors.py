"""Domain exceptions of the sentiment package."""

from __future__ import annotations


class SentimentError(Exception):
    """Base class of the package's errors."""


class InvalidText(SentimentError, ValueError):
    """The input is not a scorable text (not a string, empty, whitespace only, undecodable bytes)."""


class ModelNotLoaded(SentimentError):
    """The configured model directory is missing or is not a sequence-classification checkpoint."""


class DatasetError(SentimentError, ValueError):
    """A dataset file is malformed."""
