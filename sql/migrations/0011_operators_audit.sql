-- medsettle schema, part 11: the operators of the HTTP admin side and its audit log.
--
-- An operator signs in to the admin API and the console with a bearer token made by
-- `medsettle operator add NAME` and shown once; only the token's SHA-256 is kept (a token is 32
-- random bytes, so an unsalted hash is as strong as the token). Revoking keeps the row, so that
-- the audit log's names stay unambiguous: a revoked name is never given out again.
--
-- `admin_audit` records every admin action, refused ones too: who (the operator, NULL when no
-- valid token came), what (the action and its target), when, from where (the client's address, or
-- the local user of a CLI command), and how it ended. It is append-only, enforced here by triggers
-- that refuse UPDATE, DELETE and TRUNCATE for every role but a superuser who disables them; the
-- application role's grants (sql/roles/app_grants.sql) also give it INSERT and SELECT only.

CREATE TABLE operator (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9._-]{0,31}$'),
    token_sha256 bytea NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE TABLE admin_audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    operator text,
    channel  text NOT NULL CHECK (channel IN ('http', 'cli')),
    client   text NOT NULL,
    action   text NOT NULL,
    target   text,
    outcome  text NOT NULL CHECK (outcome IN ('done', 'refused', 'failed')),
    status   integer,
    detail   text
);
CREATE INDEX admin_audit_operator ON admin_audit (operator, id);

CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER admin_audit_no_change BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();
