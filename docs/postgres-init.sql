-- Extra databases for docker-compose's postgres: Rasa's event broker (read by the worker) and tracker
-- store (both name their table "events", so they cannot share a database), and the provider's own demo
-- database. Clearline's database is POSTGRES_DB.
CREATE DATABASE rasa OWNER clearline;
CREATE DATABASE rasa_tracker OWNER clearline;
CREATE DATABASE provider OWNER clearline;
