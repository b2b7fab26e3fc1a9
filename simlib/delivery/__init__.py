"""Delivering rendered documents to the people they are for (SPEC R20, issue 16)."""
