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

-- Lines uploaded before this migration: the terminal whose FEES trace answered exactly that
-- upload's last line number (the running count, which only grew before withdrawals existed), among
-- the admission's institution's terminals. A line whose upload cannot be told keeps a NULL
-- terminal: it stands and is priced as before, but no FEESUNDO names it.
UPDATE admission_fee f SET terminal = u.terminal
FROM (
    SELECT g.admission_id, g.trace, min(t.terminal) AS terminal
    FROM (SELECT admission_id, trace, max(line_no) AS last_line FROM admission_fee GROUP BY admission_id, trace) g
    JOIN admission a ON a.id = g.admission_id
    JOIN terminal tm ON tm.institution = a.institution
    JOIN trace t ON t.terminal = tm.id AND t.trace = g.trace AND t.verb = 'FEES'
                AND t.reply LIKE 'lines=' || g.last_line || ' %'
    GROUP BY g.admission_id, g.trace
    HAVING count(*) = 1
) u
WHERE f.admission_id = u.admission_id AND f.trace = u.trace;

-- The status check gains `cancelled` (every existing row is open or closed).
ALTER TABLE admission
    DROP CONSTRAINT admission_status_check,
    ADD CONSTRAINT admission_status_check CHECK (status IN ('open', 'closed', 'cancelled'));
