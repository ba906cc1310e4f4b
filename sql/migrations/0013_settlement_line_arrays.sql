-- medsettle schema, part 13: a settlement's lines on its own row; two index entries fewer.
--
-- Every settlement wrote 1–5 rows of `settlement_line` (more for a discharge), each with a
-- primary-key entry and a foreign-key check against `settlement`: most of the rows and checks a
-- settlement cost PostgreSQL. The lines are written once and never updated, and always read with
-- their settlement, so they now travel on the settlement row as six arrays of one length (line
-- n is element n of each; line numbers are the arrays' positions, from 1).
--
-- Rows written before this migration, and by fronts of the previous release while a rollout is
-- under way, keep their lines in `settlement_line` with NULL arrays. The view `settlement_lines`
-- reads both, with the columns of `settlement_line`: read lines through it.
--
-- Two index entries per settlement are dropped too: `UNIQUE (terminal, trace)` repeated the
-- primary key of `trace` (every settlement writes its trace row in the same statement), and
-- `settlement_terminal_date` served only a terminal's reconciliation, which now reads the
-- terminal's institution's day through `settlement_institution_date`.
--
-- Applies under running fronts: added columns without defaults and dropped indexes take their
-- lock for an instant; the length check is NOT VALID (older rows hold NULL arrays, which meet it).

ALTER TABLE settlement
    ADD COLUMN line_codes         text[],
    ADD COLUMN line_qty_milli     bigint[],
    ADD COLUMN line_prices        bigint[],
    ADD COLUMN line_amounts       bigint[],
    ADD COLUMN line_selfpay_full  bigint[],
    ADD COLUMN line_selfpay_first bigint[],
    ADD CONSTRAINT settlement_lines_one_length CHECK (
        (line_codes IS NULL AND line_qty_milli IS NULL AND line_prices IS NULL AND line_amounts IS NULL
         AND line_selfpay_full IS NULL AND line_selfpay_first IS NULL)
        OR (cardinality(line_qty_milli) = cardinality(line_codes)
            AND cardinality(line_prices) = cardinality(line_codes)
            AND cardinality(line_amounts) = cardinality(line_codes)
            AND cardinality(line_selfpay_full) = cardinality(line_codes)
            AND cardinality(line_selfpay_first) = cardinality(line_codes))) NOT VALID;

ALTER TABLE settlement DROP CONSTRAINT settlement_terminal_trace_key;
DROP INDEX settlement_terminal_date;

CREATE VIEW settlement_lines AS
    SELECT settlement_id, line_no, code, qty_milli, price, amount, selfpay_full, selfpay_first
    FROM settlement_line
    UNION ALL
    SELECT s.id, l.line_no::integer, l.code, l.qty_milli, l.price, l.amount, l.selfpay_full, l.selfpay_first
    FROM settlement s,
         unnest(s.line_codes, s.line_qty_milli, s.line_prices, s.line_amounts, s.line_selfpay_full, s.line_selfpay_first)
             WITH ORDINALITY AS l(code, qty_milli, price, amount, selfpay_full, selfpay_first, line_no)
    WHERE s.line_codes IS NOT NULL;
