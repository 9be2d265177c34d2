"""The catalog\x27s rules, one module per subject."""
