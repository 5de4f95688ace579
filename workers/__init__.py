"""Celery workers: the app, thin tasks, and the job runners they call."""
