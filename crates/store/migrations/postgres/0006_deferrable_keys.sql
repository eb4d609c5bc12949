-- Restoring a backup copies table by table inside one transaction with
-- SET CONSTRAINTS ALL DEFERRED, so that rows may arrive before the rows they
-- point to (customer_search before customers, a merged customer before its
-- survivor). PostgreSQL only defers DEFERRABLE keys, so every foreign key
-- becomes DEFERRABLE INITIALLY IMMEDIATE: still checked at each statement
-- unless a transaction defers it. Later migrations declare their foreign
-- keys that way themselves.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT conrelid::regclass AS tbl, conname
        FROM pg_constraint
        WHERE contype = 'f' AND connamespace = current_schema()::regnamespace AND NOT condeferrable
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER CONSTRAINT %I DEFERRABLE INITIALLY IMMEDIATE', c.tbl, c.conname);
    END LOOP;
END $$;
