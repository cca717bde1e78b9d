"""``python -m swarmstore.bench``: the reference report's operations, each beside raw SQL on the same file."""
