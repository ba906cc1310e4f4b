-- medsettle schema, part 9: the layers after the basic fund (RULES.md §8) and family mutual aid's
-- column (§9).
--
-- A settlement's `fund` is now every fund together, `pool + illness + assist`; the basic fund is
-- `fund - illness - assist`, so rows from before the layers need no rewrite (illness, assist and
-- aid 0: the pool was the fund). `total = fund + account + aid + cash` replaces the old sum.
-- The new checks are added NOT VALID and validated apart: validation scans without blocking
-- writes, so this migration can run under serving fronts.

ALTER TABLE person ADD COLUMN assist boolean NOT NULL DEFAULT false;

ALTER TABLE settlement
    ADD COLUMN illness bigint NOT NULL DEFAULT 0 CHECK (illness >= 0),
    ADD COLUMN assist  bigint NOT NULL DEFAULT 0 CHECK (assist >= 0),
    ADD COLUMN aid     bigint NOT NULL DEFAULT 0 CHECK (aid >= 0);
ALTER TABLE settlement ADD CONSTRAINT settlement_split_adds_up CHECK (total = fund + account + aid + cash) NOT VALID;
ALTER TABLE settlement ADD CONSTRAINT settlement_layers_within_fund CHECK (illness + assist <= fund) NOT VALID;
ALTER TABLE settlement VALIDATE CONSTRAINT settlement_split_adds_up;
ALTER TABLE settlement VALIDATE CONSTRAINT settlement_layers_within_fund;
ALTER TABLE settlement DROP CONSTRAINT settlement_check;

-- The year's layers per (person, year, visit); a claim reads the outpatient and inpatient rows
-- together. `fund_paid` stays the basic fund's (its annual ceiling counts pool payments only).
ALTER TABLE accumulator
    ADD COLUMN burden       bigint NOT NULL DEFAULT 0 CHECK (burden >= 0),
    ADD COLUMN illness_paid bigint NOT NULL DEFAULT 0 CHECK (illness_paid >= 0),
    ADD COLUMN assist_paid  bigint NOT NULL DEFAULT 0 CHECK (assist_paid >= 0);
-- Outpatient and inpatient settlements from before the layers carried their burden too (§12: a
-- layer switched on mid-year sees the whole year).
INSERT INTO accumulator (person_id, year, visit, burden)
SELECT person_id, extract(year FROM business_date)::smallint, visit, sum(inscope - fund)
FROM settlement WHERE state = 'settled' AND visit <> 'pharmacy'
GROUP BY 1, 2, 3
HAVING sum(inscope - fund) > 0
ON CONFLICT (person_id, year, visit) DO UPDATE SET burden = excluded.burden;
