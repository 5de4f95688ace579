"""The foundations every other package stands on: one settings object, the database session
scope, object storage, the task queue and the application's error hierarchy. Nothing here imports
an application package."""
