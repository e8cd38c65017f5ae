"""Triage's domain core: the rules of a conversation's life, with no I/O (no database, no HTTP).

Services load rows, call the domain, and save what it returns in one unit of work; tests of the rules
need no database. See ``triage.domain.lifecycle``.
"""
