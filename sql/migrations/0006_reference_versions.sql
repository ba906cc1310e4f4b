-- medsettle schema, part 6: the catalog and the policy in versions, terminals that change in service.
--
-- The catalog and the policy (policy rows and benefit rows together) each change by importing a
-- complete new version with an effective business date. Versions are append-only: the version in
-- force on a date is the one with the latest effective date on or before it (ties: the latest
-- import), so a settlement's version numbers say exactly what priced it, for ever.
--
-- Every front keeps the versions, the institutions and the terminals in memory and reloads them
-- when one of these tables changes: a statement-level trigger sends a NOTIFY on the channel
-- `medsettle_reference` naming the part that changed, delivered when the change commits.

CREATE TABLE catalog_version (
    version     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    effective   date NOT NULL,
    items       integer NOT NULL CHECK (items >= 0),
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- Codes from before versions may hold lowercase letters, '_' and '-'; imports take A-Z 0-9 only.
CREATE TABLE catalog_entry (
    version          integer NOT NULL REFERENCES catalog_version (version),
    code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,20}$'),
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    class            text NOT NULL CHECK (class IN ('A', 'B', 'C')),
    unit             text NOT NULL CHECK (char_length(unit) BETWEEN 1 AND 10),
    price_limit      bigint NOT NULL CHECK (price_limit >= 0),
    first_selfpay_bp integer NOT NULL CHECK (first_selfpay_bp BETWEEN 0 AND 10000),
    traced           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (version, code)
);

CREATE TABLE policy_version (
    version     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    effective   date NOT NULL,
    rows        integer NOT NULL CHECK (rows >= 0),
    benefits    integer NOT NULL CHECK (benefits >= 0),
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE policy_entry (
    version           integer NOT NULL REFERENCES policy_version (version),
    insurance         text NOT NULL CHECK (insurance IN ('employee', 'retiree', 'resident')),
    visit             text NOT NULL CHECK (visit IN ('pharmacy', 'outpatient', 'inpatient')),
    level             smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    deductible        bigint NOT NULL CHECK (deductible >= 0),
    deductible_scope  text NOT NULL CHECK (deductible_scope IN ('year', 'admission')),
    fund_ratio_bp     integer NOT NULL CHECK (fund_ratio_bp BETWEEN 0 AND 10000),
    annual_ceiling    bigint NOT NULL CHECK (annual_ceiling >= 0),
    account_pays_full boolean NOT NULL,
    PRIMARY KEY (version, insurance, visit, level)
);

-- The layers after the basic fund (serious illness, medical assistance), one row per insurance type.
CREATE TABLE benefit_entry (
    version           integer NOT NULL REFERENCES policy_version (version),
    insurance         text NOT NULL CHECK (insurance IN ('employee', 'retiree', 'resident')),
    illness_threshold bigint NOT NULL CHECK (illness_threshold >= 0),
    illness_ratio_bp  integer NOT NULL CHECK (illness_ratio_bp BETWEEN 0 AND 10000),
    illness_ceiling   bigint NOT NULL CHECK (illness_ceiling >= 0),
    assist_ratio_bp   integer NOT NULL CHECK (assist_ratio_bp BETWEEN 0 AND 10000),
    assist_ceiling    bigint NOT NULL CHECK (assist_ceiling >= 0),
    PRIMARY KEY (version, insurance)
);

-- What a database already held becomes version 1, effective 2000-01-01 (in force on every date
-- a settlement can have), so that its settlements keep pricing and undoing as before.
DO $$
BEGIN
    IF EXISTS (SELECT FROM catalog_item) THEN
        INSERT INTO catalog_version (version, effective, items)
            OVERRIDING SYSTEM VALUE SELECT 1, DATE '2000-01-01', count(*) FROM catalog_item;
        INSERT INTO catalog_entry (version, code, name, class, unit, price_limit, first_selfpay_bp)
            SELECT 1, code, left(name, 100), class, left(unit, 10), price_limit, first_selfpay_bp FROM catalog_item;
        PERFORM setval(pg_get_serial_sequence('catalog_version', 'version'), 1);
    END IF;
    IF EXISTS (SELECT FROM policy) THEN
        INSERT INTO policy_version (version, effective, rows, benefits)
            OVERRIDING SYSTEM VALUE SELECT 1, DATE '2000-01-01', count(*), 0 FROM policy;
        INSERT INTO policy_entry (version, insurance, visit, level, deductible, deductible_scope, fund_ratio_bp,
                                  annual_ceiling, account_pays_full)
            SELECT 1, insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling, account_pays_full
            FROM policy;
        PERFORM setval(pg_get_serial_sequence('policy_version', 'version'), 1);
    END IF;
END $$;

-- A fee line keeps the classification of its upload day (the catalog version then in force).
ALTER TABLE admission_fee
    DROP CONSTRAINT admission_fee_code_fkey,
    ADD COLUMN catalog_version  integer,
    ADD COLUMN class            text CHECK (class IN ('A', 'B', 'C')),
    ADD COLUMN price_limit      bigint CHECK (price_limit >= 0),
    ADD COLUMN first_selfpay_bp integer CHECK (first_selfpay_bp BETWEEN 0 AND 10000);
UPDATE admission_fee f SET catalog_version = 1, class = c.class, price_limit = c.price_limit, first_selfpay_bp = c.first_selfpay_bp
    FROM catalog_item c WHERE c.code = f.code;
ALTER TABLE admission_fee
    ALTER COLUMN catalog_version SET NOT NULL,
    ALTER COLUMN class SET NOT NULL,
    ALTER COLUMN price_limit SET NOT NULL,
    ALTER COLUMN first_selfpay_bp SET NOT NULL;

-- A settlement records the versions that priced it. Rows from before versions were priced by
-- what is now version 1. (No foreign keys: a version is never deleted, and the hot path should
-- not pay two look-ups per settlement to be told so.)
ALTER TABLE settlement
    ADD COLUMN catalog_version integer NOT NULL DEFAULT 1,
    ADD COLUMN policy_version  integer NOT NULL DEFAULT 1;
ALTER TABLE settlement
    ALTER COLUMN catalog_version DROP DEFAULT,
    ALTER COLUMN policy_version DROP DEFAULT;

DROP TABLE catalog_item;
DROP TABLE policy;

-- Rotating a terminal's key bumps its key version, disabling it its disable count: a session
-- signed in under other counts ends, even when the terminal was enabled again meanwhile.
ALTER TABLE terminal
    ADD COLUMN key_version integer NOT NULL DEFAULT 1 CHECK (key_version >= 1),
    ADD COLUMN disabled_count integer NOT NULL DEFAULT 0 CHECK (disabled_count >= 0);

-- History never changes: versions are never edited or deleted.
CREATE FUNCTION reference_version_stays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or deleted: settlements name the version that priced them', TG_TABLE_NAME;
END $$;
CREATE TRIGGER catalog_version_stays BEFORE UPDATE OR DELETE OR TRUNCATE ON catalog_version
    FOR EACH STATEMENT EXECUTE FUNCTION reference_version_stays();
CREATE TRIGGER catalog_entry_stays BEFORE UPDATE OR DELETE OR TRUNCATE ON catalog_entry
    FOR EACH STATEMENT EXECUTE FUNCTION reference_version_stays();
CREATE TRIGGER policy_version_stays BEFORE UPDATE OR DELETE OR TRUNCATE ON policy_version
    FOR EACH STATEMENT EXECUTE FUNCTION reference_version_stays();
CREATE TRIGGER policy_entry_stays BEFORE UPDATE OR DELETE OR TRUNCATE ON policy_entry
    FOR EACH STATEMENT EXECUTE FUNCTION reference_version_stays();
CREATE TRIGGER benefit_entry_stays BEFORE UPDATE OR DELETE OR TRUNCATE ON benefit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION reference_version_stays();

-- Every front reloads the part that changed (payload: terminal, institution, catalog, policy).
CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('medsettle_reference', TG_ARGV[0]);
    RETURN NULL;
END $$;
CREATE TRIGGER terminal_changed AFTER INSERT OR UPDATE ON terminal
    FOR EACH STATEMENT EXECUTE FUNCTION reference_changed('terminal');
CREATE TRIGGER institution_changed AFTER INSERT OR UPDATE ON institution
    FOR EACH STATEMENT EXECUTE FUNCTION reference_changed('institution');
CREATE TRIGGER catalog_version_changed AFTER INSERT ON catalog_version
    FOR EACH STATEMENT EXECUTE FUNCTION reference_changed('catalog');
CREATE TRIGGER policy_version_changed AFTER INSERT ON policy_version
    FOR EACH STATEMENT EXECUTE FUNCTION reference_changed('policy');
