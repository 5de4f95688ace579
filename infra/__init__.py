"""Foundations and operator tools: settings, database, object store, queue, stack, CLI."""
