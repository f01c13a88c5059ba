"""Background work: tasks through Django's tasks interface (django-tasks, the database backend of
django-tasks-db), retries with backoff and dead letters on top (`retry.py`), recovery of tasks
whose worker was lost, `khutwa worker` and `khutwa scheduler` (docs/background-work.md)."""
