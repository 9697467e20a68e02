"""Loading the GB/T 2260 region tree from the data file shipped in core/data/regions.csv."""

from __future__ import annotations

import csv
from pathlib import Path

REGIONS_CSV = Path(__file__).resolve().parent / "data" / "regions.csv"


def read_regions(path: Path = REGIONS_CSV) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_regions(region_model, path: Path = REGIONS_CSV) -> tuple[int, int]:
    """Insert new regions and update changed names; parents before children. Returns (created, updated).

    Takes the model as an argument so a data migration can pass its historical model.
    """
    rows = sorted(read_regions(path), key=lambda row: (int(row["level"]), row["code"]))
    existing = {r.code: r for r in region_model.objects.all()}
    to_create, to_update = [], []
    for row in rows:
        parent = row["parent_code"] or None
        current = existing.get(row["code"])
        if current is None:
            to_create.append(
                region_model(code=row["code"], name=row["name"], level=int(row["level"]), parent_id=parent)
            )
        elif (current.name, current.level, current.parent_id) != (row["name"], int(row["level"]), parent):
            current.name, current.level, current.parent_id = row["name"], int(row["level"]), parent
            to_update.append(current)
    # One level at a time so every parent row exists before its children reference it.
    for level in (1, 2, 3, 4):
        region_model.objects.bulk_create([r for r in to_create if r.level == level], batch_size=1000)
    region_model.objects.bulk_update(to_update, ["name", "level", "parent"], batch_size=1000)
    return len(to_create), len(to_update)
