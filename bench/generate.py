"""Data generator: a realistic city-scale chain for the trace, sale and public benchmarks, loaded with COPY.

    .venv/bin/python bench/generate.py [--scale 1000000] [--database-url URL] [--seed 2026]

`--scale N` loads N vehicles and N batteries (default 1,000,000; 10,000,000 works too, it only takes longer),
with the makers, models, dealers, owners, registrations, fitments, incoming inspections, sales and ledger events
around them. The database is migrated first; run it once per database (createdb a fresh one for each scale).

What it builds, in delivery blocks of 50 bikes (one maker, one model, one dealer, one day each):
- 10% of the blocks are still at the maker (status produced), the others were received by a dealer;
- of the received bikes, 78% were sold by now (two thirds of all): registered to an owner, battery fitted;
- every bike and battery has its ledger: produced, received, then sold, battery_fitted and registered on the
  bike's chain, hash-chained exactly as vehicles.ledger writes them (a sample is verified at the end).

Then the governance year (bench/history.py): repair shops, a year of repairs and complaints on the registered bikes
(on their chains), the alerts the rule engine raises from them with their closed loop; after loading, the daily
rollups of every day, backfilled set-based and checked against reports.rollups.day_rederive, and the 三分 risk
gradings as of the first of each month. It draws from its own random generator, so the bikes, owners and sales
of a seed are the same as before it existed.

Owners: each has a unique, valid ID number and phone (`owner_id_number(k)`, `owner_phone(k)` below give those
of the k-th owner, for trace benchmarks), whose keyed hashes are stored for lookup. Encrypting millions of values
would dominate the run, so the encrypted name, ID number and phone come from a pool of 1,000 encrypted records:
decrypting shows a pool person, not the one the hashes find. Bench data only.

Loading: one connection per table, all COPYs open at once and fed row by row from one pass over the bikes, so
memory stays flat at any scale and PostgreSQL works while Python generates. Foreign-key triggers are skipped
(session_replication_role = replica, as pg_restore does; needs a superuser) because the generator writes
consistent rows; unique indexes still apply. The ledger's monthly partitions are created for the whole period.
Historical events get no outbox rows: the relay would have published them long ago.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import history
from bench.environment import django_setup, psycopg_connect

SHANGHAI = ZoneInfo("Asia/Shanghai")
BLOCK = 50  # bikes per delivery
PASSWORD = "bench-2026"
SEED_PREFIXES = ("3714", "4311", "330206", "3304", "4301")  # 德州, 永州, 北仑, 嘉兴, 长沙 (DOMAIN seed regions)
CITY_REGULATORS = ("371400", "371402", "431100", "330200", "330206", "330400", "430100")
# Birthplaces whose codes stdnum accepts for people born 1996–2005.
BIRTHPLACES = ("371402", "371421", "330206", "330402", "430102", "431102")
BIRTH_START = dt.date(1996, 1, 1)


def owner_id_number(k: int) -> str:
    """The resident ID number of the k-th generated owner (0-based): valid checksum, birth date and place."""
    from stdnum.cn import ric

    rest = k // len(BIRTHPLACES)
    born = BIRTH_START + dt.timedelta(days=rest // 1000)
    body = f"{BIRTHPLACES[k % len(BIRTHPLACES)]}{born:%Y%m%d}{rest % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def owner_phone(k: int) -> str:
    return f"13{k:09d}"


def public_code(x: int, salt: int) -> str:
    """A valid public code, unique per x: an odd multiplier mod 2^60 is a bijection (bench data only)."""
    from stdnum.iso7064 import mod_37_36

    from vehicles.codes import PUBLIC_CODE_ALPHABET

    x = (x * 0x9E3779B97F4A7C15 + salt) & ((1 << 60) - 1)
    body = "".join(PUBLIC_CODE_ALPHABET[(x >> shift) & 31] for shift in range(0, 60, 5))
    return body + mod_37_36.calc_check_digit(body)


# The world around the bikes: organizations, users, models (a few thousand rows, through the ORM) ------------


class World:
    def __init__(self, scale: int, rng: random.Random):
        import functools
        import operator

        from django.contrib.auth.hashers import make_password
        from django.db.models import Q

        from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User

        K = OrganizationKind
        if User.objects.filter(username="bench_maker_000").exists():
            raise SystemExit("This database already holds generated data; create a fresh one (createdb) to load again.")
        self.counties = list(
            Region.objects.filter(level=3)
            .filter(functools.reduce(operator.or_, (Q(code__startswith=p) for p in SEED_PREFIXES)))
            .values_list("code", flat=True)
        )
        used = set(Organization.objects.exclude(enterprise_code="").values_list("enterprise_code", flat=True))
        n_makers, n_battery_makers, n_dealers = (
            max(10, scale // 50_000),
            max(5, scale // 100_000),
            max(20, scale // 500),
        )
        enterprise_codes = rng.sample([c for c in (f"{n:04d}" for n in range(1000, 10000)) if c not in used], n_makers)
        serial = iter(range(10**8))

        def org(kind, name, region, **extra):
            return Organization(
                name=name,
                kind=kind,
                region_id=region,
                uscc=make_uscc(f"91{region[:6]}B{next(serial):08d}"),
                qualification_no=f"BENCH-{next(serial):06d}",
                **extra,
            )

        makers = [
            org(K.MANUFACTURER, f"基准电动车制造有限公司{m:03d}", rng.choice(self.counties), enterprise_code=code)
            for m, code in enumerate(enterprise_codes)
        ]
        battery_makers = [
            org(K.BATTERY_MAKER, f"基准新能源电池有限公司{m:03d}", rng.choice(self.counties))
            for m in range(n_battery_makers)
        ]
        dealers = [
            org(K.DEALER, f"基准电动车专卖店{d:05d}", self.counties[d % len(self.counties)]) for d in range(n_dealers)
        ]
        regulators = [org(K.REGULATOR, f"基准市场监督管理局{code}", code) for code in CITY_REGULATORS]
        police = [org(K.POLICE, f"基准公安局{code}", code) for code in CITY_REGULATORS[:1]]
        Organization.objects.bulk_create([*makers, *battery_makers, *dealers, *regulators, *police], batch_size=2000)

        password = make_password(PASSWORD)  # one hash for every bench account: hashing thousands would take minutes
        users = [User(username=f"bench_maker_{m:03d}", organization=o) for m, o in enumerate(makers)]
        users += [User(username=f"bench_battery_maker_{m:03d}", organization=o) for m, o in enumerate(battery_makers)]
        dealer_users = [User(username=f"bench_dealer_{d:05d}", organization=o) for d, o in enumerate(dealers)]
        users += dealer_users
        users += [User(username=f"bench_regulator_{o.region_id}", organization=o) for o in regulators]
        users += [User(username=f"bench_police_{o.region_id}", organization=o) for o in police]
        for user in users:
            user.password, user.role = password, User.Role.ADMIN
        User.objects.bulk_create(users, batch_size=2000)

        certified = {"ccc_cert_no": "2025011119000001", "ccc_valid_until": dt.date(2030, 12, 31)}
        battery_models = []
        for m, maker in enumerate(battery_makers):
            for j, (chemistry, ah, cert) in enumerate(
                [
                    (Chemistry.LITHIUM_ION, 20, certified),
                    (Chemistry.LITHIUM_ION, 24, certified),
                    (Chemistry.LEAD_ACID, 20, {}),
                ]
            ):
                battery_models.append(
                    BatteryModel(
                        code=f"BENCH-B{m:03d}-{j}",
                        name=f"48V {ah}Ah",
                        maker=maker,
                        chemistry=chemistry,
                        nominal_voltage_v=48,
                        capacity_ah=ah,
                        **cert,
                    )
                )
        BatteryModel.objects.bulk_create(battery_models)
        standards = {s.code: s for s in Standard.objects.all()}
        vehicle_models = []
        for m, maker in enumerate(makers):
            for j in range(3):
                old = j == 2  # one model per maker still on the 2018 standard, its CCC cancelled
                vehicle_models.append(
                    VehicleModel(
                        code=f"BENCH-V{m:03d}-{j}",
                        name=f"基准车型{m:03d}-{j}",
                        maker=maker,
                        standard=standards["GB17761-2018" if old else "GB17761-2024"],
                        max_speed_kmh=25,
                        mass_kg=50,
                        nominal_voltage_v=48,
                        motor_power_w=350,
                        ccc_cert_no=certified["ccc_cert_no"],
                        ccc_valid_until=dt.date(2025, 11, 30) if old else certified["ccc_valid_until"],
                    )
                )
        VehicleModel.objects.bulk_create(vehicle_models)
        through = VehicleModel.compatible_battery_models.through
        compatible = {}
        pairs = []
        for model in vehicle_models:
            chosen = rng.sample(battery_models, 2)
            compatible[model.pk] = [(b.pk, b.code, b.maker_id, b.maker.region_id) for b in chosen]
            pairs += [through(vehiclemodel_id=model.pk, batterymodel_id=b.pk) for b in chosen]
        through.objects.bulk_create(pairs)

        self.makers = [(o.pk, o.region_id, o.enterprise_code) for o in makers]
        self.models_of = {o.pk: [(v.pk, v.code) for v in vehicle_models if v.maker_id == o.pk] for o in makers}
        self.compatible = compatible
        dealer_user = {u.organization_id: u.pk for u in dealer_users}
        self.dealers = [(o.pk, o.region_id, dealer_user[o.pk]) for o in dealers]
        self.regulators = {o.region_id: o.pk for o in regulators}
        self.organizations = len(makers) + len(battery_makers) + len(dealers) + len(regulators) + len(police)
        self.users = len(users)


# Loading ---------------------------------------------------------------------------------------------------------

TABLES = {
    "vehicles_vehicle": (
        "id, frame_no, motor_no, model_id, manufacturer_id, produced_on, code, status, holder_id, dealer_id, "
        "region_id, registered_at, ledger_seq, ledger_head, created_at, updated_at"
    ),
    "vehicles_battery": (
        "id, serial, model_id, maker_id, produced_on, code, status, holder_id, vehicle_id, region_id, ledger_seq, "
        "ledger_head, created_at, updated_at"
    ),
    "vehicles_lifecycleevent": (
        "id, recorded_at, occurred_at, vehicle_id, battery_id, seq, type, organization_id, region_code, payload, "
        "prev_hash, hash"
    ),
    "vehicles_owner": (
        "id, name_enc, id_number_enc, phone_enc, id_number_hash, phone_hash, region_id, created_at, updated_at"
    ),
    "vehicles_registration": (
        "id, vehicle_id, owner_id, dealer_id, region_id, plate_no, registered_at, status, ended_at, end_reason"
    ),
    "vehicles_fitment": "id, battery_id, vehicle_id, fitted_at, removed_at, fitted_by_id",
    "dealers_receipt": "id, dealer_id, supplier_id, received_at, created_by_id",
    "dealers_receiptitem": "id, receipt_id, kind, ref, vehicle_id, battery_id, verdict, reasons",
    "dealers_sale": "id, dealer_id, vehicle_id, registration_id, battery_serials, sold_at, created_by_id, created_at",
    **history.TABLES,
}


class Loader(contextlib.ExitStack):
    """One connection and one open COPY per table; `put(table, row)` streams a row; ids come from `next_id`.

    Each table commits on its own connection: a failure midway can leave some tables loaded (start again on a
    fresh database).
    """

    def __init__(self):
        super().__init__()
        self.copies, self.last_id, self.counts = {}, {}, {}

    def open(self) -> Loader:
        import psycopg

        for table, columns in TABLES.items():
            conn = self.enter_context(psycopg_connect(autocommit=True))
            with contextlib.suppress(psycopg.Error):  # not a superuser: foreign keys are checked, slower but correct
                conn.execute("SET session_replication_role = replica")
            conn.execute("SET synchronous_commit = off")
            start = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table]).fetchone()[0]
            self.last_id[table], self.counts[table] = start - 1, 0
            conn.autocommit = False
            self.copies[table] = self.enter_context(conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN"))
        return self

    def next_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]

    def put(self, table: str, row: tuple) -> None:
        self.copies[table].write_row(row)
        self.counts[table] += 1

    def commit(self) -> None:
        """End every COPY and commit its table (in reverse order of opening), then move the id sequences on."""
        self.close()
        with psycopg_connect(autocommit=True) as conn:
            for table, count in self.counts.items():
                if count:
                    conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, self.last_id[table]])


def create_partitions(first_day: dt.date, months_ahead: int = 3) -> int:
    """Monthly ledger partitions from the first event to a few months ahead, named as the migration names them."""
    with psycopg_connect(autocommit=True) as conn:
        month, end, created = first_day.replace(day=1), dt.date.today(), 0
        end = (end.replace(day=1) + dt.timedelta(days=32 * months_ahead)).replace(day=1)
        while month <= end:
            following = (month + dt.timedelta(days=32)).replace(day=1)
            name = f"vehicles_lifecycleevent_y{month:%Y}m{month:%m}"
            if conn.execute("SELECT to_regclass(%s)", [name]).fetchone()[0] is None:
                conn.execute(
                    f"CREATE TABLE {name} PARTITION OF vehicles_lifecycleevent "
                    f"FOR VALUES FROM ('{month} 00:00:00+00') TO ('{following} 00:00:00+00')"
                )
                created += 1
            month = following
    return created


class Ledger:
    """Appends events to hash chains exactly as vehicles.ledger.event_append does, streaming them to COPY."""

    def __init__(self, load: Loader):
        from vehicles.ledger import canonical, event_hash

        self.load, self.canonical, self.event_hash = load, canonical, event_hash

    def append(
        self,
        chain: list,
        type_: str,
        occurred,
        recorded,
        org: int,
        region: str,
        payload: dict,
        *,
        vehicle: tuple[int, str] | None = None,
        battery: tuple[int, str] | None = None,
    ) -> int:
        """`chain` is [head hash, seq] of the vehicle (or battery) and moves on; vehicle/battery: (id, key).
        Returns the event's id."""
        seq = chain[1] + 1
        digest = self.event_hash(
            prev_hash=chain[0],
            seq=seq,
            type=type_,
            occurred_at=occurred,
            frame_no=vehicle[1] if vehicle else None,
            serial=battery[1] if battery else None,
            organization_id=org,
            region_code=region,
            payload=payload,
        )
        event_id = self.load.next_id("vehicles_lifecycleevent")
        vehicle_id, battery_id = vehicle[0] if vehicle else None, battery[0] if battery else None
        row = (event_id, recorded, occurred, vehicle_id, battery_id, seq, type_, org, region)
        self.load.put("vehicles_lifecycleevent", (*row, self.canonical(payload), chain[0], digest))
        chain[0], chain[1] = digest, seq
        return event_id


def generate(scale: int, seed: int) -> None:
    from core.personal_data import encrypt, lookup_hash

    started = time.perf_counter()
    rng = random.Random(seed)
    world = World(scale, rng)
    # The year's repairs, complaints and alerts draw from their own generator: the chain above them is the same
    # for a seed with or without them.
    governance = history.Governance(scale, world.counties, world.regulators, random.Random(seed + 1), SHANGHAI)
    print(
        f"world: {world.organizations:,} organizations, {world.users:,} users, {governance.shop_count:,} repair "
        f"shops ({time.perf_counter() - started:.1f}s)"
    )

    today = dt.date.today()
    first_day = today - dt.timedelta(days=900)
    print(f"ledger partitions created: {create_partitions(first_day)}")
    names = [
        s + g for s in "王李张刘陈杨黄赵吴周" for g in ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰")
    ]
    pool = [
        (encrypt(rng.choice(names)), encrypt(owner_id_number(10**7 + k)), encrypt(owner_phone(10**8 + k)))
        for k in range(1000)
    ]
    salt = rng.getrandbits(60)
    now = dt.datetime.now(tz=dt.UTC)
    owners, sold = 0, 0
    last_owner: tuple[int, str] | None = None
    progress_every = max(scale // 10, 1)

    with Loader().open() as load:
        put, next_id, ledger = load.put, load.next_id, Ledger(load)
        for block_start in range(0, scale, BLOCK):
            # One delivery: a maker's model, produced on one day, received by one dealer (or still at the maker).
            maker_id, maker_region, enterprise_code = rng.choice(world.makers)
            model_id, model_code = rng.choice(world.models_of[maker_id])
            compatible = world.compatible[model_id]
            produced_on = first_day + dt.timedelta(days=rng.randrange(860))
            produced_at = dt.datetime.combine(produced_on, dt.time(), tzinfo=SHANGHAI)
            uploaded_at = produced_at + dt.timedelta(days=1, hours=9)  # the bulk upload the next morning
            received_at = produced_at + dt.timedelta(days=rng.randint(3, 30), hours=10, minutes=rng.randrange(60))
            dealer = rng.choice(world.dealers) if rng.random() < 0.9 and received_at < now else None
            if dealer is not None:
                dealer_id, dealer_region, dealer_user = dealer
                supplier = compatible[0]  # a delivered block's packs all come from one battery maker
                vehicle_receipt, battery_receipt = next_id("dealers_receipt"), next_id("dealers_receipt")
                put("dealers_receipt", (vehicle_receipt, dealer_id, maker_id, received_at, dealer_user))
                put("dealers_receipt", (battery_receipt, dealer_id, supplier[2], received_at, dealer_user))

            for i in range(block_start, min(block_start + BLOCK, scale)):
                frame_no = f"{enterprise_code}2{produced_on:%y}{i:08d}"
                motor_no = f"MT{i:010d}"
                vehicle_id, battery_id = next_id("vehicles_vehicle"), next_id("vehicles_battery")
                bm_id, bm_code, bm_maker, bm_region = supplier if dealer is not None else rng.choice(compatible)
                serial = f"B{bm_id:05d}{i:010d}"
                vehicle, battery = (vehicle_id, frame_no), (battery_id, serial)
                v_code, b_code = public_code(2 * i, salt), public_code(2 * i + 1, salt)
                v_chain, b_chain = ["", 0], ["", 0]

                ledger.append(
                    v_chain,
                    "produced",
                    produced_at,
                    uploaded_at,
                    maker_id,
                    maker_region,
                    {"model": model_code, "motor_no": motor_no},
                    vehicle=vehicle,
                )
                ledger.append(
                    b_chain,
                    "produced",
                    produced_at,
                    uploaded_at,
                    bm_maker,
                    bm_region,
                    {"model": bm_code},
                    battery=battery,
                )
                v_state = ("produced", maker_id, None, maker_region, None)  # status, holder, dealer, region, registered
                b_state = ("produced", bm_maker, None, bm_region)  # status, holder, vehicle, region

                if dealer is not None:
                    recorded = received_at + dt.timedelta(seconds=30)
                    ledger.append(
                        v_chain,
                        "received",
                        received_at,
                        recorded,
                        dealer_id,
                        dealer_region,
                        {"receipt": vehicle_receipt, "supplier": maker_id},
                        vehicle=vehicle,
                    )
                    ledger.append(
                        b_chain,
                        "received",
                        received_at,
                        recorded,
                        dealer_id,
                        dealer_region,
                        {"receipt": battery_receipt, "supplier": bm_maker},
                        battery=battery,
                    )
                    put(
                        "dealers_receiptitem",
                        (
                            next_id("dealers_receiptitem"),
                            vehicle_receipt,
                            "vehicle",
                            frame_no,
                            vehicle_id,
                            None,
                            "accepted",
                            "[]",
                        ),
                    )
                    put(
                        "dealers_receiptitem",
                        (
                            next_id("dealers_receiptitem"),
                            battery_receipt,
                            "battery",
                            serial,
                            None,
                            battery_id,
                            "accepted",
                            "[]",
                        ),
                    )
                    v_state = ("in_stock", dealer_id, None, dealer_region, None)
                    b_state = ("in_stock", dealer_id, None, dealer_region)
                    sold_at = received_at + dt.timedelta(days=rng.randint(1, 120), hours=rng.randint(-1, 9))

                    if rng.random() < 0.78 and sold_at < now:
                        sold += 1
                        if last_owner is not None and sold % 20 == 0:
                            owner_id, owner_region = last_owner  # some people own two bikes
                        else:
                            owner_id = next_id("vehicles_owner")
                            owner_region = dealer_region if rng.random() < 0.8 else rng.choice(world.counties)
                            name_enc, id_number_enc, phone_enc = pool[owners % len(pool)]
                            hashes = (lookup_hash(owner_id_number(owners)), lookup_hash(owner_phone(owners)))
                            put(
                                "vehicles_owner",
                                (owner_id, name_enc, id_number_enc, phone_enc, *hashes, owner_region, sold_at, sold_at),
                            )
                            owners += 1
                            last_owner = (owner_id, owner_region)
                        registration_id = next_id("vehicles_registration")
                        recorded = sold_at + dt.timedelta(seconds=5)
                        # The sale service's order: sold, battery_fitted, registered (vehicles.registration).
                        ledger.append(
                            v_chain,
                            "sold",
                            sold_at,
                            recorded,
                            dealer_id,
                            dealer_region,
                            {"batteries": [serial]},
                            vehicle=vehicle,
                        )
                        ledger.append(
                            v_chain,
                            "battery_fitted",
                            sold_at,
                            recorded,
                            dealer_id,
                            owner_region,
                            {"model": bm_code},
                            vehicle=vehicle,
                            battery=battery,
                        )
                        ledger.append(
                            v_chain,
                            "registered",
                            sold_at,
                            recorded,
                            dealer_id,
                            owner_region,
                            {"registration": registration_id, "plate_no": v_code, "owner": owner_id},
                            vehicle=vehicle,
                        )
                        put(
                            "vehicles_registration",
                            (
                                registration_id,
                                vehicle_id,
                                owner_id,
                                dealer_id,
                                owner_region,
                                v_code,
                                sold_at,
                                "active",
                                None,
                                "",
                            ),
                        )
                        put(
                            "vehicles_fitment",
                            (next_id("vehicles_fitment"), battery_id, vehicle_id, sold_at, None, dealer_id),
                        )
                        put(
                            "dealers_sale",
                            (
                                next_id("dealers_sale"),
                                dealer_id,
                                vehicle_id,
                                registration_id,
                                f'["{serial}"]',
                                sold_at,
                                dealer_user,
                                recorded,
                            ),
                        )
                        governance.after_sale(
                            load, ledger, v_chain, vehicle, v_code, model_code, owner_region, dealer_id, sold_at
                        )
                        v_state = ("registered", None, dealer_id, owner_region, sold_at)
                        b_state = ("fitted", None, vehicle_id, owner_region)

                put(
                    "vehicles_vehicle",
                    (
                        vehicle_id,
                        frame_no,
                        motor_no,
                        model_id,
                        maker_id,
                        produced_on,
                        v_code,
                        *v_state,
                        v_chain[1],
                        v_chain[0],
                        uploaded_at,
                        uploaded_at,
                    ),
                )
                put(
                    "vehicles_battery",
                    (
                        battery_id,
                        serial,
                        bm_id,
                        bm_maker,
                        produced_on,
                        b_code,
                        *b_state,
                        b_chain[1],
                        b_chain[0],
                        uploaded_at,
                        uploaded_at,
                    ),
                )
                if (i + 1) % progress_every == 0:
                    elapsed = time.perf_counter() - started
                    print(f"  {i + 1:>12,} bikes  {elapsed:7.1f}s  {(i + 1) / elapsed:9,.0f} bikes/s", flush=True)
        print("committing…", flush=True)
        load.commit()
        counts = dict(load.counts)
    loaded = time.perf_counter()
    with psycopg_connect(autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"ANALYZE {table}")
    analysed = time.perf_counter()

    print()
    for table, count in counts.items():
        print(f"  {table:26s}{count:>14,}")
    print(f"  {'rows':26s}{sum(counts.values()):>14,}")
    total = loaded - started
    print(f"loaded in {total:.1f}s ({sum(counts.values()) / total:,.0f} rows/s), ANALYZE {analysed - loaded:.1f}s")
    verify_sample(rng)
    governance_finish(rng)


def governance_finish(rng: random.Random) -> None:
    """The rollups of every day, backfilled set-based and checked against reports.rollups.day_rederive on a sample
    of days; then the year's monthly risk gradings."""
    from django.conf import settings
    from django.utils import timezone

    started = time.perf_counter()
    with psycopg_connect(autocommit=True) as conn:
        filled = history.rollups_backfill(conn, settings.TIME_ZONE)
    for table, (rows, seconds) in filled.items():
        print(f"  {table:26s}{rows:>14,} rows in {seconds:5.1f}s")
    today = timezone.localdate()
    start = history.history_start(today)
    days = sorted(
        {
            today,
            today - dt.timedelta(days=1),
            *(start + dt.timedelta(days=rng.randrange((today - start).days)) for _ in range(4)),
        }
    )
    checked = history.rollups_verify(days)
    drift = sum(d for _, d, _ in checked)
    print(
        "rollups re-derived by day_rederive on "
        + ", ".join(f"{day:%Y-%m-%d} ({seconds:.1f}s)" for day, _, seconds in checked)
        + f": {'no drift' if not drift else f'{drift} rows DRIFTED'}"
    )
    if drift:
        raise SystemExit(1)
    graded = history.gradings(SHANGHAI)
    for moment, grading, seconds in graded:
        print(
            f"  graded as of {moment:%Y-%m-%d %H:%M}: {grading.enterprises:,} enterprises "
            f"({grading.risk_enterprises:,} risk), {grading.regions} regions in {seconds:.1f}s"
        )
    print(f"rollups and gradings in {time.perf_counter() - started:.1f}s")


def verify_sample(rng: random.Random, size: int = 20) -> None:
    """Recompute the hash chains of a sample of bikes and batteries, as the verify endpoint would."""
    from vehicles.ledger import chain_verify
    from vehicles.models import Battery, Vehicle

    bench_vehicles = Vehicle.objects.filter(model__code__startswith="BENCH-V")
    last = bench_vehicles.order_by("-id").values_list("id", flat=True).first()
    first = bench_vehicles.order_by("id").values_list("id", flat=True).first()
    ids = [rng.randint(first, last) for _ in range(size)]
    vehicles = list(Vehicle.objects.filter(id__in=ids))
    battery_ids = Battery.objects.filter(model__code__startswith="BENCH-B").values_list("id", flat=True)
    low, high = battery_ids.order_by("id").first(), battery_ids.order_by("-id").first()
    batteries = list(Battery.objects.filter(vehicle__in=vehicles))
    batteries += list(Battery.objects.filter(id__in=[rng.randint(low, high) for _ in range(size)]))
    verdicts = [chain_verify(head) for head in vehicles + batteries]
    bad = [v for v in verdicts if not v.valid]
    events = sum(v.events for v in verdicts)
    print(f"verified {len(verdicts)} chains ({events} events): {'all valid' if not bad else f'{len(bad)} INVALID'}")
    if bad:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="vehicles (and batteries) to load")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    django_setup(args.database_url)
    generate(args.scale, args.seed)


if __name__ == "__main__":
    main()
