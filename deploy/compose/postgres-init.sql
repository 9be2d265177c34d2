-- One database per service (docker-compose.dev.yml): each service owns its data and runs its
-- own migrations in it at start. Runs once, when the data volume is empty.
CREATE DATABASE device_registry;
CREATE DATABASE ingest;
CREATE DATABASE catalog;
CREATE DATABASE access_gateway;
CREATE DATABASE retention;
