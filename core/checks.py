"""Deploy checks: production must not run on secrets generated for a development machine."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def local_secrets(app_configs, **kwargs):
    warnings = []
    if settings.SECRET_KEY_IS_LOCAL:
        warnings.append(
            Warning(
                "SECRET_KEY is not set; a key generated under .data/ is in use.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE) in the environment.",
                id="core.W001",
            )
        )
    if settings.FIELD_ENCRYPTION_KEY_IS_LOCAL:
        warnings.append(
            Warning(
                "FIELD_ENCRYPTION_KEY is not set; personal data is encrypted with a key generated under .data/.",
                hint="Set FIELD_ENCRYPTION_KEY (a Fernet key) and keep it backed up: data cannot be read without it.",
                id="core.W002",
            )
        )
    if settings.FIELD_HASH_KEY_IS_LOCAL:
        warnings.append(
            Warning(
                "FIELD_HASH_KEY is not set; lookups of personal data use a key generated under .data/.",
                hint="Set FIELD_HASH_KEY and keep it: changing it breaks lookup by ID number and phone.",
                id="core.W003",
            )
        )
    return warnings
