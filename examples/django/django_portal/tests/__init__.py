"""The Django host's tests: Django's test client over every screen, on SQLite and PostgreSQL."""
