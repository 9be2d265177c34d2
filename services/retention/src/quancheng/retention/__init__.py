"""Retention: retention periods, legal holds, certified destruction, fixity audits (B-8, E-18)."""
