"""Learning from people's verdicts: the labelled examples the feedback gives, and the commands that turn
them into candidate models (``clearline recalibrate --from-feedback``)."""
