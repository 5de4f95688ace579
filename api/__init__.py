"""The broadcaster-facing REST API (FastAPI)."""
