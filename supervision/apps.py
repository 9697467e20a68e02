from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision work")

    def ready(self):
        # The risk signals the supervision work feeds register themselves with reports.risk on import.
        from supervision import duty_risk, sampling  # noqa: F401
