-- The grants of the application role (docs/OPERATIONS.md §9): `medsettle migrate --app-role NAME`
-- runs this as the owner after migrating, with NAME for medsettle_app. Idempotent. The default
-- privileges cover the tables later migrations add (created by the owner, who runs migrate);
-- reference data (institution, terminal, catalog*, policy*, benefit*) stays read only.
GRANT USAGE ON SCHEMA public TO medsettle_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO medsettle_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO medsettle_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE ON TABLES TO medsettle_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO medsettle_app;
-- reference data: read only; the migrations' record: none of its business
DO $$
DECLARE reference text;
BEGIN
    FOR reference IN
        SELECT tablename FROM pg_tables
        WHERE schemaname = 'public'
          AND (tablename IN ('institution', 'terminal') OR tablename ~ '^(catalog|policy|benefit)')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.%I FROM medsettle_app', reference);
    END LOOP;
    IF to_regclass('public.schema_migrations') IS NOT NULL THEN
        REVOKE ALL ON TABLE public.schema_migrations FROM medsettle_app;
    END IF;
END $$;
-- the admin side (0011): operators are made and revoked with the CLI as the owner; the audit log
-- takes rows and never gives them up (its triggers refuse UPDATE and DELETE for every role too)
DO $$
BEGIN
    IF to_regclass('public.operator') IS NOT NULL THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.operator FROM medsettle_app;
    END IF;
    IF to_regclass('public.admin_audit') IS NOT NULL THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON public.admin_audit FROM medsettle_app;
    END IF;
END $$;
