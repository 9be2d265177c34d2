"""Catalog: records, activities, enterprises, compliance and the archive (B, C, E)."""
