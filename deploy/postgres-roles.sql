-- Production roles for PostgreSQL. Run as a superuser once per database, after `migrate`:
--   psql -d edc -f deploy/postgres-roles.sql
--   psql -d edc -c "ALTER ROLE edc_app PASSWORD '...'"      (keep the password out of git)
--
-- edc_owner owns the schema and runs migrations (manage.py migrate with its credentials).
-- edc_app is what gunicorn and Celery connect as: it may read and write clinical tables but can
-- never UPDATE, DELETE or TRUNCATE the audit trail. The table's triggers refuse UPDATE/DELETE
-- for every role as well; the privilege layer also covers TRUNCATE, which triggers do not see.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edc_app') THEN
    CREATE ROLE edc_app LOGIN;
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO edc_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO edc_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO edc_app;
REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM edc_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM edc_app;
-- The randomization record is append-only too (its triggers refuse UPDATE/DELETE as well).
REVOKE UPDATE, DELETE, TRUNCATE ON randomization_commitment, randomization_seed,
    randomization_allocation, randomization_allocationcorrection FROM edc_app;
