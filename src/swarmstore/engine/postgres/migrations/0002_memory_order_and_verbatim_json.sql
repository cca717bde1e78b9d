-- Memory keys compared byte by byte (code point order), as SQLite compares them, whatever the
-- server's default collation: prefix listings select a namespace's children as the range
-- ['prefix:', 'prefix;') and page in (namespace, key) order, which a linguistic collation
-- (en-US, say: punctuation ignored at first) would break. The primary key is rebuilt in that order.
--
-- Values, metadata and version snapshots kept as the JSON text written (json, not jsonb), as on
-- SQLite: jsonb reads numbers back in its own notation, so a float written as 2.552781687800143e16
-- came back as the integer 25527816878001430 (another type, and another value), and it cannot hold
-- the escaped NUL character (\u0000) that SQLite stores. Nothing queries inside these columns.
ALTER TABLE memories
    ALTER COLUMN namespace TYPE text COLLATE "C",
    ALTER COLUMN key TYPE text COLLATE "C",
    ALTER COLUMN value TYPE json USING value::json,
    ALTER COLUMN metadata DROP DEFAULT,
    ALTER COLUMN metadata TYPE json USING metadata::json,
    ALTER COLUMN metadata SET DEFAULT '{}';
ALTER TABLE audit ALTER COLUMN snapshot TYPE json USING snapshot::json;
