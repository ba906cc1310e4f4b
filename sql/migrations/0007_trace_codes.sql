-- medsettle schema, part 7: drug traceability codes (RULES.md §10).
--
-- One row per package sold: the code, and the settlement that sold it. A code is sold once
-- while that settlement stands; cancel and reversal release it (released_at), so it can be
-- sold again. Rows are never deleted: a settlement's codes stay its history.
--
-- Sized for a region selling hundreds of millions of packages a year (docs/DESIGN.md,
-- "Traceability codes"):
-- * The 20-digit code needs 67 bits, more than a bigint: it is kept as two integers, the first
--   2 digits (code_hi) and the last 18 (code_lo). An index entry is then 24 bytes (the least
--   any key over 8 bytes takes, after alignment), where the code as text would take 32.
-- * Columns are ordered widest first, so a row is 48 bytes with no padding inside it.
-- * The table is insert-only but for the rare release, which changes a column of the unique
--   index's predicate and so can never be a HOT update: no room is left in its pages.
CREATE TABLE trace_code (
    code_lo       bigint NOT NULL CHECK (code_lo BETWEEN 0 AND 999999999999999999),
    settlement_id bigint NOT NULL REFERENCES settlement (id),
    code_hi       smallint NOT NULL CHECK (code_hi BETWEEN 0 AND 99),
    released_at   timestamptz
) WITH (fillfactor = 100);

-- The one-winner rule: at most one standing sale per code. A claim probes it (an index-only
-- scan once the visibility map is set) and its settlement inserts into it; of two transactions
-- inserting one code, the second waits for the first and, if it committed, fails with a unique
-- violation, is retried, and then sees the code sold. Codes arrive in no order, so inserts land
-- anywhere in this index: the default fill factor (90) leaves room after a REINDEX.
CREATE UNIQUE INDEX trace_code_standing ON trace_code (code_hi, code_lo) WHERE released_at IS NULL;

-- Releases find a settlement's codes here. Settlement ids only grow, so entries are appended at
-- the right edge (pages packed full) and the codes of one settlement share one deduplicated
-- entry.
CREATE INDEX trace_code_settlement ON trace_code (settlement_id) WITH (fillfactor = 100);
