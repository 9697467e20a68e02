from django.core.management.base import BaseCommand

from core import demo


class Command(BaseCommand):
    help = "Create the demo world (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the demo data is there")

    def handle(self, *args, if_empty: bool, **options):
        from core.models import User

        if if_empty and User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already present")
            return
        from vehicles import demo as chain_demo

        orgs = demo.seed()
        self.stdout.write(f"demo world ready: {len(orgs)} organizations, {len(demo.DEMO_USERS)} logins")
        sold = chain_demo.seed(orgs)
        if sold:
            self.stdout.write(f"demo chain ready: bikes and batteries produced, received, {sold} sold")
        from alerts import demo as alerts_demo

        self.stdout.write(f"demo alerts: {alerts_demo.seed(orgs)}")
        for username, password, description in demo.DEMO_LOGINS:
            self.stdout.write(f"  {username:<14} {password}  {description}")
