-- medsettle schema, part 1: reference data, people, cards, accounts, settlements.
-- The database itself guards the money: balances never below 0, every split adds up,
-- (terminal, trace) unique forever.

CREATE TABLE institution (
    code  text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{1,16}$'),
    name  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    kind  text NOT NULL CHECK (kind IN ('pharmacy', 'hospital', 'window', 'hotline', 'online', 'agency')),
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 3)
);

-- The terminal's 32-byte HMAC key is a secret: it is stored only sealed (AES-256-GCM) under a key
-- derived from the server secret, never in a plain column.
CREATE TABLE terminal (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,32}$'),
    institution text NOT NULL REFERENCES institution (code),
    key_sealed  bytea NOT NULL,
    enabled     boolean NOT NULL DEFAULT true
);
CREATE INDEX terminal_institution ON terminal (institution);

CREATE TABLE catalog_item (
    code             text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,16}$'),
    name             text NOT NULL,
    class            text NOT NULL CHECK (class IN ('A', 'B', 'C')),
    unit             text NOT NULL,
    price_limit      bigint NOT NULL CHECK (price_limit >= 0),
    first_selfpay_bp integer NOT NULL CHECK (first_selfpay_bp BETWEEN 0 AND 10000)
);

CREATE TABLE policy (
    insurance         text NOT NULL CHECK (insurance IN ('employee', 'retiree', 'resident')),
    visit             text NOT NULL CHECK (visit IN ('pharmacy', 'outpatient', 'inpatient')),
    level             smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    deductible        bigint NOT NULL CHECK (deductible >= 0),
    deductible_scope  text NOT NULL CHECK (deductible_scope IN ('year', 'admission')),
    fund_ratio_bp     integer NOT NULL CHECK (fund_ratio_bp BETWEEN 0 AND 10000),
    annual_ceiling    bigint NOT NULL CHECK (annual_ceiling >= 0),
    account_pays_full boolean NOT NULL,
    PRIMARY KEY (insurance, visit, level)
);

-- A person (参保人). Residents have no personal account: has_account false and balance 0.
-- `insured` turns false when the card is cancelled (注销): the account is closed, its balance paid out.
CREATE TABLE person (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_no       text NOT NULL UNIQUE CHECK (id_no ~ '^[0-9]{17}[0-9X]$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    insurance   text NOT NULL CHECK (insurance IN ('employee', 'retiree', 'resident')),
    area        text NOT NULL CHECK (area ~ '^[0-9]{6}$'),
    has_account boolean NOT NULL,
    balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    insured     boolean NOT NULL DEFAULT true,
    payout      bigint CHECK (payout >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (has_account OR balance = 0),
    CHECK (insured OR balance = 0)
);

-- Card numbers: one uppercase letter and 8 digits, from this sequence (700001001 is H00001001;
-- the numbers below it are left to the demo cards, H00000017 to H00000019).
CREATE SEQUENCE card_no_seq START WITH 700001001 MAXVALUE 2599999999 NO CYCLE;

-- A card. The PIN is kept only as HMAC-SHA256(pin key, salt || card_no || pin).
CREATE TABLE card (
    card_no            text PRIMARY KEY CHECK (card_no ~ '^[A-Z][0-9]{8}$'),
    person_id          bigint NOT NULL REFERENCES person (id),
    status             text NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'LOST', 'REPLACED', 'CANCELLED')),
    status_before_loss text CHECK (status_before_loss IN ('PENDING', 'ACTIVE')),
    wrong_count        smallint NOT NULL DEFAULT 0 CHECK (wrong_count BETWEEN 0 AND 6),
    pin_salt           bytea NOT NULL CHECK (octet_length(pin_salt) = 16),
    pin_hash           bytea NOT NULL CHECK (octet_length(pin_hash) = 32),
    replaced_by        text REFERENCES card (card_no),
    issued_at          timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'LOST') = (status_before_loss IS NOT NULL))
);
-- At most one valid card per person.
CREATE UNIQUE INDEX card_one_valid_per_person ON card (person_id) WHERE status IN ('PENDING', 'ACTIVE', 'LOST');
CREATE INDEX card_person ON card (person_id);

-- Year accumulators per (person, calendar year, visit type).
CREATE TABLE accumulator (
    person_id      bigint NOT NULL REFERENCES person (id),
    year           smallint NOT NULL,
    visit          text NOT NULL CHECK (visit IN ('pharmacy', 'outpatient', 'inpatient')),
    deductible_met bigint NOT NULL DEFAULT 0 CHECK (deductible_met >= 0),
    fund_paid      bigint NOT NULL DEFAULT 0 CHECK (fund_paid >= 0),
    PRIMARY KEY (person_id, year, visit)
);

-- Agency credits into personal accounts (个人账户划入).
CREATE TABLE account_credit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    terminal   text NOT NULL REFERENCES terminal (id),
    trace      text NOT NULL,
    person_id  bigint NOT NULL REFERENCES person (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (terminal, trace)
);
CREATE INDEX account_credit_person ON account_credit (person_id);

CREATE TABLE settlement (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    terminal      text NOT NULL REFERENCES terminal (id),
    institution   text NOT NULL REFERENCES institution (code),
    trace         text NOT NULL,
    person_id     bigint NOT NULL REFERENCES person (id),
    card_no       text NOT NULL REFERENCES card (card_no),
    visit         text NOT NULL CHECK (visit IN ('pharmacy', 'outpatient', 'inpatient')),
    business_date date NOT NULL,
    total         bigint NOT NULL CHECK (total >= 0),
    selfpay_full  bigint NOT NULL CHECK (selfpay_full >= 0),
    selfpay_first bigint NOT NULL CHECK (selfpay_first >= 0),
    inscope       bigint NOT NULL CHECK (inscope >= 0),
    deductible    bigint NOT NULL CHECK (deductible >= 0),
    fund          bigint NOT NULL CHECK (fund >= 0),
    account       bigint NOT NULL CHECK (account >= 0),
    cash          bigint NOT NULL CHECK (cash >= 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    state         text NOT NULL DEFAULT 'settled' CHECK (state IN ('settled', 'cancelled', 'reversed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (total = fund + account + cash),
    CHECK (inscope = total - selfpay_full - selfpay_first),
    UNIQUE (terminal, trace)
);
CREATE INDEX settlement_terminal_date ON settlement (terminal, business_date);
CREATE INDEX settlement_institution_date ON settlement (institution, business_date);
CREATE INDEX settlement_person ON settlement (person_id);

CREATE TABLE settlement_line (
    settlement_id bigint NOT NULL REFERENCES settlement (id),
    line_no       smallint NOT NULL CHECK (line_no BETWEEN 1 AND 10000),
    code          text NOT NULL REFERENCES catalog_item (code),
    qty_milli     bigint NOT NULL CHECK (qty_milli > 0),
    price         bigint NOT NULL CHECK (price >= 0),
    amount        bigint NOT NULL CHECK (amount >= 0),
    selfpay_full  bigint NOT NULL CHECK (selfpay_full >= 0),
    selfpay_first bigint NOT NULL CHECK (selfpay_first >= 0),
    PRIMARY KEY (settlement_id, line_no)
);

-- The idempotency record: every OK reply to a traced request, by (terminal, trace), forever.
-- `fingerprint` is SHA-256 of the request's content without its credentials; `reply` is the
-- reply's fields as sent (no PIN, no QR token ever appears in a reply), or NULL when the reply
-- is rebuilt from the settlement the trace names.
CREATE TABLE trace (
    terminal      text NOT NULL REFERENCES terminal (id),
    trace         text NOT NULL,
    verb          text NOT NULL,
    fingerprint   bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    reply         text,
    settlement_id bigint REFERENCES settlement (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal, trace),
    CHECK (reply IS NOT NULL OR settlement_id IS NOT NULL)
);

-- Append-only log of every card lifecycle event, PIN failure and lock. Never holds a PIN.
CREATE TABLE card_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_no     text NOT NULL,
    person_id   bigint NOT NULL REFERENCES person (id),
    event       text NOT NULL,
    terminal    text NOT NULL,
    institution text NOT NULL,
    channel     text NOT NULL,
    agent_id    text,
    detail      text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_event_card ON card_event (card_no, id);

CREATE FUNCTION card_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'card_event is append-only';
END $$;
CREATE TRIGGER card_event_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON card_event
    FOR EACH STATEMENT EXECUTE FUNCTION card_event_append_only();
