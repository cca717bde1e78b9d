-- Memory keys compared byte by byte (code point order), as SQLite compares them, whatever the
-- server's default collation: prefix listings select a namespace's children as the range
-- ['prefix:', 'prefix;') and page in (namespace, key) order, which a linguistic collation
-- (en-US, say: punctuation ignored at first) would break. The primary key is rebuilt in that order.
ALTER TABLE memories
    ALTER COLUMN namespace TYPE text COLLATE "C",
    ALTER COLUMN key TYPE text COLLATE "C";
