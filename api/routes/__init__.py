"""One router per resource, assembled in ``api.app``."""
