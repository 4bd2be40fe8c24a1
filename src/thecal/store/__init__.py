"""The clinic's database adapter: SQLAlchemy 2 mapping, repositories, the unit of work, the
hash-chained audit log and Alembic migrations. SQLite (default, a WAL file in the user's data
directory) or PostgreSQL (``THECAL_DATABASE_URL``)."""
