"""The PostgreSQL engine (``postgresql://`` store URLs; ``pip install "swarmstore[postgres]"``).

engine.py: ``PostgresEngine`` (pool, fork safety, per-thread LISTEN); runner.py: the transaction
logic shared by the sync engine and its async view (asyncmode.py, ``engine.for_async()``);
errors.py: psycopg errors -> swarmstore errors; migrate.py and migrations/: the schema;
config.py: URL and options; adapt.py: how connections are made. One operation set per entity
(memory.py, sessions.py, tasks.py, agents.py, audit.py), bound by ops.py.
"""
