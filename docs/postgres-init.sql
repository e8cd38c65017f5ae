-- Extra databases for docker-compose's postgres: Rasa's tracker store and event broker, and the
-- provider's own demo database (Clearline's database is POSTGRES_DB).
CREATE DATABASE rasa OWNER clearline;
CREATE DATABASE provider OWNER clearline;
