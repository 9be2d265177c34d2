"""The registry's rules, one module per subject. Services never commit: the request's session
does, with its outbox and audit rows."""
