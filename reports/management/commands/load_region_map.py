"""manage.py load_region_map: load the boundaries of a region's subdivisions from a GeoJSON file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.geojson import MapError
from reports.maps import region_map_load


class Command(BaseCommand):
    help = (
        "Load the district boundaries of a region (e.g. a city) from a GeoJSON FeatureCollection, one feature per "
        "subdivision, matched by its code (property code or adcode) or its name. The map then replaces the "
        "vendored one, if any."
    )

    def add_arguments(self, parser):
        parser.add_argument("region_code", help="GB/T 2260 code of the region whose subdivisions the file bounds")
        parser.add_argument("file", type=Path, help="a GeoJSON FeatureCollection (.geojson / .json)")
        parser.add_argument(
            "--name-property",
            default="name",
            help="the feature property holding the subdivision's name (default: name)",
        )

    def handle(self, *args, region_code: str, file: Path, name_property: str, **options):
        try:
            geojson = json.loads(file.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise CommandError(f"no file {file}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text") from None
        except json.JSONDecodeError as error:
            raise CommandError(f"{file} is not JSON: {error}") from None
        try:
            loaded = region_map_load(
                region_code=region_code, geojson=geojson, source=str(file.name), name_property=name_property
            )
        except MapError as error:
            raise CommandError(f"{file}: {error}") from None
        self.stdout.write(f"region map {region_code}: {loaded.features} subdivisions loaded from {file.name}")
        if loaded.missing:
            self.stderr.write(f"no boundary in the file for: {', '.join(loaded.missing)}")
