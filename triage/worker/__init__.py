"""The worker: reads Rasa's events, scores, decides, explains, relays (``clearline worker``)."""
