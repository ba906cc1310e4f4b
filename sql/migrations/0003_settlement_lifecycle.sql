-- medsettle schema, part 3: cancel and reversal, hospital admissions, reconciliation.

-- A hospital stay (住院). At most one open admission per person. `deductible_met` is what the
-- stay's discharge counted against the admission-scope deductible (0 while open).
CREATE TABLE admission (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id      bigint NOT NULL REFERENCES person (id),
    card_no        text NOT NULL REFERENCES card (card_no),
    institution    text NOT NULL REFERENCES institution (code),
    terminal       text NOT NULL REFERENCES terminal (id),
    trace          text NOT NULL,
    ward           text,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    deductible_met bigint NOT NULL DEFAULT 0 CHECK (deductible_met >= 0),
    fee_lines      integer NOT NULL DEFAULT 0 CHECK (fee_lines >= 0),
    fee_total      bigint NOT NULL DEFAULT 0 CHECK (fee_total >= 0),
    opened_at      timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    UNIQUE (terminal, trace)
);
CREATE UNIQUE INDEX admission_one_open_per_person ON admission (person_id) WHERE status = 'open';

-- Fee detail lines (费用明细) of an admission, uploaded in batches, each batch by its trace.
CREATE TABLE admission_fee (
    admission_id bigint NOT NULL REFERENCES admission (id),
    line_no      integer NOT NULL CHECK (line_no >= 1),
    code         text NOT NULL REFERENCES catalog_item (code),
    qty_milli    bigint NOT NULL CHECK (qty_milli > 0),
    price        bigint NOT NULL CHECK (price >= 0),
    amount       bigint NOT NULL CHECK (amount >= 0),
    trace        text NOT NULL,
    PRIMARY KEY (admission_id, line_no)
);

ALTER TABLE settlement ADD COLUMN admission_id bigint REFERENCES admission (id);
ALTER TABLE settlement ADD COLUMN undone_at timestamptz;
ALTER TABLE settlement ADD CONSTRAINT settlement_undone_has_time CHECK ((state = 'settled') = (undone_at IS NULL));
CREATE INDEX settlement_admission ON settlement (admission_id) WHERE admission_id IS NOT NULL;
-- Discharge lines can outnumber a pharmacy claim's 200.
ALTER TABLE settlement_line DROP CONSTRAINT settlement_line_line_no_check;
ALTER TABLE settlement_line ALTER COLUMN line_no TYPE integer;
ALTER TABLE settlement_line ADD CONSTRAINT settlement_line_line_no_check CHECK (line_no >= 1);
