"""Storage for captionary: SQLite (the source of truth) and the Whoosh index derived from it."""
