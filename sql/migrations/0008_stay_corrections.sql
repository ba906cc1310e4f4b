-- medsettle schema, part 8: corrections during a hospital stay (RULES.md §11).
--
-- FEESUNDO (明细撤销) withdraws every line one FEES request uploaded. An upload is named by its
-- (terminal, trace), so a fee line now records the terminal that uploaded it. A withdrawn line
-- stays, marked with the FEESUNDO trace (of the same terminal) and the time: the record of what
-- was billed and taken back is kept, and nothing prices it again. `admission.fee_lines` and
-- `fee_total` count the standing lines only. Line numbers keep counting every line ever uploaded
-- (the next is one past the admission's highest), so a withdrawal never frees a number.
--
-- ADMITCANCEL (入院撤销) turns an open admission with no standing lines into `cancelled`; its
-- `closed_at` says when. It no longer counts as the person's open admission.

ALTER TABLE admission_fee
    ADD COLUMN terminal     text,
    ADD COLUMN withdrawn_by text,
    ADD COLUMN withdrawn_at timestamptz,
    ADD CONSTRAINT admission_fee_withdrawn_has_time CHECK ((withdrawn_by IS NULL) = (withdrawn_at IS NULL));

-- Lines uploaded before this migration. A FEES trace answered the admission's running line
-- count, which only grew before withdrawals existed: so the upload that holds line n ends at the
-- nearest line L >= n of the same trace for which one of the institution's terminals has a FEES
-- trace answering `lines=L`. A line whose nearest end names two terminals cannot be told: it
-- keeps a NULL terminal, stands and is billed as before, but no FEESUNDO names it.
WITH upload_end AS (
    SELECT f.admission_id, t.terminal, t.trace, f.line_no AS last_line
    FROM trace t
    JOIN terminal tm ON tm.id = t.terminal
    JOIN admission a ON a.institution = tm.institution
    JOIN admission_fee f ON f.admission_id = a.id AND f.trace = t.trace
                        AND f.line_no = substring(t.reply FROM '^lines=([0-9]+) ')::integer
    WHERE t.verb = 'FEES'
), nearest AS (
    SELECT f.admission_id, f.line_no, u.terminal,
           rank() OVER (PARTITION BY f.admission_id, f.line_no ORDER BY u.last_line) AS r
    FROM admission_fee f
    JOIN upload_end u ON u.admission_id = f.admission_id AND u.trace = f.trace AND u.last_line >= f.line_no
), owner AS (
    SELECT admission_id, line_no, min(terminal) AS terminal
    FROM nearest WHERE r = 1
    GROUP BY admission_id, line_no
    HAVING count(*) = 1
)
UPDATE admission_fee f SET terminal = o.terminal
FROM owner o
WHERE f.admission_id = o.admission_id AND f.line_no = o.line_no;

-- The status check gains `cancelled` (every existing row is open or closed).
ALTER TABLE admission
    DROP CONSTRAINT admission_status_check,
    ADD CONSTRAINT admission_status_check CHECK (status IN ('open', 'closed', 'cancelled'));
