"""Conduit: the RealWorld blogging API on Flask and PostgreSQL."""
