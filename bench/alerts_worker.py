"""`celery -A bench.alerts_worker worker`: the application's Celery app with two proposed settings, to measure them
with bench/bench_alerts.py --worker-app bench.alerts_worker (nothing in the application changes).

- E-mail and webhook tasks on their own queue (`alerts-io`), so the drain worker never waits behind them (and never
  behind a slow mail server: the SMTP timeout is 10 s). Here no worker consumes that queue; the benchmark clears it.
- Database connections kept across tasks (Celery's Django fixup otherwise closes them before and after every task,
  so each drain and each e-mail task opens a new PostgreSQL connection).
"""

from config.celery import app

app.conf.task_routes = {
    "alerts.tasks.notify_dispatched": {"queue": "alerts-io"},
    "alerts.tasks.send_webhooks": {"queue": "alerts-io"},
}
app.conf["CELERY_DB_REUSE_MAX"] = 1000  # read by celery.fixups.django when the worker starts
