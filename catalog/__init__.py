"""The shared domain: events, feeds, assets, segments, renditions, jobs, and their services."""
