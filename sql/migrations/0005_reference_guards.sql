-- medsettle schema, part 5: reference rows guarded once, not checked on every line.
--
-- Every settlement line checked its catalog code and every trace its terminal against the
-- reference tables: four referential look-ups per pharmacy settlement, a tenth of the database's
-- work on the settlement path. The engine refuses unknown codes before pricing and only signed-in
-- terminals write traces; what those keys added was a guarantee that the rows they name stay.
-- That is kept by forbidding the deletion or renaming of catalog items and terminals (retire a
-- terminal by disabling it; a catalog item by a new policy, never by deleting it).

ALTER TABLE settlement_line DROP CONSTRAINT settlement_line_code_fkey;
ALTER TABLE trace DROP CONSTRAINT trace_terminal_fkey;

CREATE FUNCTION reference_row_stays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted or renamed: settlements refer to them', TG_TABLE_NAME;
END $$;
CREATE TRIGGER catalog_item_stays BEFORE DELETE OR UPDATE OF code ON catalog_item
    FOR EACH ROW EXECUTE FUNCTION reference_row_stays();
CREATE TRIGGER catalog_item_not_truncated BEFORE TRUNCATE ON catalog_item
    FOR EACH STATEMENT EXECUTE FUNCTION reference_row_stays();
CREATE TRIGGER terminal_stays BEFORE DELETE OR UPDATE OF id ON terminal
    FOR EACH ROW EXECUTE FUNCTION reference_row_stays();
CREATE TRIGGER terminal_not_truncated BEFORE TRUNCATE ON terminal
    FOR EACH STATEMENT EXECUTE FUNCTION reference_row_stays();
