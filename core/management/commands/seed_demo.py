from django.core.management.base import BaseCommand

from core import demo


class Command(BaseCommand):
    help = "Create the demo world and its year of history (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the demo data is there")

    def handle(self, *args, if_empty: bool, **options):
        from core.models import User

        if if_empty and User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already present")
            return
        from alerts import demo as alerts_demo
        from charging import demo as charging_demo
        from dealers import demo_shipments, demo_trade_ins
        from reports import demo as reports_demo
        from supervision import demo as supervision_demo
        from vehicles import demo as chain_demo
        from vehicles import demo_stolen

        clock = demo.Clock.start()  # the year of history ends here, whatever time its seeding takes
        orgs = demo.seed()
        self.stdout.write(f"demo world ready: {len(orgs)} organizations, {len(demo.DEMO_USERS)} listed logins")
        sold = chain_demo.seed(orgs, clock)
        if sold:
            self.stdout.write(f"demo chain ready: a year of deliveries, {sold} bikes sold, transfers, take-backs")
        self.stdout.write(f"demo shipments: {demo_shipments.seed(orgs, clock)} bikes produced with their batteries")
        self.stdout.write(f"demo trade-ins: {demo_trade_ins.seed(orgs, clock)} across 北仑区's streets")
        self.stdout.write(f"demo cabinets: {charging_demo.seed(orgs, clock)}")
        self.stdout.write(f"demo alerts: {alerts_demo.seed(orgs, clock)}")
        self.stdout.write(f"demo stolen bikes: {demo_stolen.seed(orgs, clock)} reported to 德州市公安局")
        self.stdout.write(f"demo supervision: {supervision_demo.seed(orgs, today=clock.today)}")
        history = reports_demo.seed(clock)
        if history is not None:
            risk = history.gradings[-1].risk_enterprises
            months = ", ".join(sorted({f"{r.month:%Y-%m}" for r in history.reports}))
            self.stdout.write(
                f"demo history: rollups of {history.days} days re-derived, {risk} risk enterprises now, "
                f"reports of {months} for {len(history.reports)} regions"
            )
        for username, password, description in demo.DEMO_LOGINS:
            self.stdout.write(f"  {username:<14} {password}  {description}")
