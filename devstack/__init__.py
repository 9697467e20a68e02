"""Development tooling, not the platform: the embedded PostgreSQL and Redis a machine with no DATABASE_URL or
REDIS_URL starts (embedded.py), and the launcher behind `python3 dev.py` that runs them with the web server, the
worker and beat (launcher.py)."""
