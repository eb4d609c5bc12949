-- Nothing changes on SQLite: a restore defers its foreign keys with
-- PRAGMA defer_foreign_keys. (The PostgreSQL side makes its keys
-- deferrable for the same purpose.)
SELECT 1;
