"""The customer phone page (placeholder)."""
routes: list = []
