"""SQLite whose writers say when they wait for the write lock (see `base`)."""
