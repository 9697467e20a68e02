"""The platform's shared API machinery (auth, errors, idempotency, pagination) and the provisioning endpoints."""
