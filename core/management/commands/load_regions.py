from pathlib import Path

from django.core.management.base import BaseCommand

from core.models import Region
from core.regions import REGIONS_CSV, load_regions


class Command(BaseCommand):
    help = "Load or refresh the GB/T 2260 region tree (core/data/regions.csv, or another file in its format)."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=REGIONS_CSV)

    def handle(self, *args, file: Path, **options):
        created, updated = load_regions(Region, file)
        self.stdout.write(f"regions: {created} created, {updated} updated, {Region.objects.count()} in all")
