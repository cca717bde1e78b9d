"""Documents and search: chunking, searchable text, query building, embedders and ranking."""
