"""Production uploads: a maker's CSV/XLSX of produced units, registered in the background, all or nothing.

The rows go through the bulk services of vehicles/production.py (the API's checks, COPY path and ledger events);
a file with one bad row registers nothing and lists its bad rows by row number, with the reason in words.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from catalog.models import BatteryModel, VehicleModel
from core.models import AuditEntry, OrganizationKind, User
from tests.catalog.factories import BatteryModelFactory, VehicleModelFactory
from tests.conftest import World, _member
from tests.factories import PASSWORD
from tests.processes import running, wait_until
from vehicles import uploads
from vehicles.ledger import OUTBOX_TOPIC, Verdict, chain_verify
from vehicles.models import Battery, EventType, LifecycleEvent, OutboxMessage, ProductionUpload, Vehicle

K = OrganizationKind
Status = ProductionUpload.Status
PAGE = "/maker/production/"
DAY = "2025-06-01"


@dataclass
class Makers:
    world: World
    maker: User  # frame numbers open with 3714
    other_maker: User
    battery_maker: User
    model: VehicleModel
    other_model: VehicleModel
    battery_model: BatteryModel


@pytest.fixture
def makers(world, settings, tmp_path) -> Makers:
    settings.MEDIA_ROOT = tmp_path / "media"
    maker = _member(K.MANUFACTURER, "371402", name="德州德骑电动车有限公司", enterprise_code="3714")
    other_maker = _member(K.MANUFACTURER, "330206", name="宁波北仑电动车有限公司", enterprise_code="3302")
    battery_maker = _member(K.BATTERY_MAKER, "371402", name="山东鲁电新能源电池有限公司")
    return Makers(
        world=world,
        maker=maker,
        other_maker=other_maker,
        battery_maker=battery_maker,
        model=VehicleModelFactory(code="TDT-2024A", maker=maker.organization, compatible_battery_models=[]),
        other_model=VehicleModelFactory(code="NB-2024", maker=other_maker.organization, compatible_battery_models=[]),
        battery_model=BatteryModelFactory(code="LD-48V20AH", maker=battery_maker.organization),
    )


def frame(n: int, enterprise: str = "3714") -> str:
    return f"{enterprise}225{n:08d}"


def vehicle_csv(rows, heading=("frame_no", "motor_no", "produced_on"), encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(heading)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def good_rows(start: int, count: int) -> list[list[str]]:
    return [[frame(n), f"MT48{n:08d}", DAY] for n in range(start, start + count)]


def upload_file(user: User, data: bytes, *, name: str = "batch.csv", model: str = "TDT-2024A") -> ProductionUpload:
    return uploads.production_upload_create(actor=user, model_code=model, file=SimpleUploadedFile(name, data))


def process(upload: ProductionUpload) -> ProductionUpload:
    uploads.production_upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def written() -> tuple[int, int, int, int]:
    return (Vehicle.objects.count(), Battery.objects.count(), LifecycleEvent.objects.count(),
            OutboxMessage.objects.count())  # fmt: skip


def _logged_in(user, language: str = "en") -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _token(client) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', client.get(PAGE).content.decode()).group(1)


@pytest.fixture
def queued(monkeypatch) -> list:
    """The tasks the pages queue (after commit), instead of sending them to the broker."""
    sent = []
    monkeypatch.setattr(uploads.current_app, "send_task", lambda name, args: sent.append((name, args)))
    return sent


# --- the work ------------------------------------------------------------------------------------------------------


def test_a_good_file_registers_every_row_with_its_ledger_as_the_api_does(makers):
    upload = process(upload_file(makers.maker, vehicle_csv(good_rows(1, 3))))

    assert (upload.status, upload.created_count, upload.bad_count, upload.progress) == (Status.DONE, 3, 0, 100)
    assert upload.rows_total == 3 and upload.finished_at is not None
    maker = makers.maker.organization
    vehicles = list(Vehicle.objects.order_by("frame_no"))
    assert [v.frame_no for v in vehicles] == [frame(1), frame(2), frame(3)]
    for vehicle in vehicles:
        assert (vehicle.status, vehicle.holder_id, vehicle.model_id) == ("produced", maker.pk, makers.model.pk)
        assert vehicle.produced_on == dt.date(2025, 6, 1) and vehicle.motor_no == f"MT48{vehicle.frame_no[-8:]}"
        [event] = LifecycleEvent.objects.filter(vehicle=vehicle)
        assert (event.type, event.seq, event.organization_id) == (EventType.PRODUCED, 1, maker.pk)
        assert event.payload == {"model": "TDT-2024A", "motor_no": vehicle.motor_no}
        assert chain_verify(vehicle) == Verdict(valid=True, events=1, first_bad_seq=None)
        assert OutboxMessage.objects.get(event_id=event.pk).topic == OUTBOX_TOPIC
    assert AuditEntry.objects.get(action="vehicles.produced").data == {"model": "TDT-2024A", "count": 3}


def test_one_bad_row_and_nothing_is_written_and_every_bad_row_is_listed_by_its_row_number(makers):
    process(upload_file(makers.maker, vehicle_csv(good_rows(90, 1))))
    before = written()
    rows = good_rows(1, 4)
    rows[1][0] = "12345"  # file row 3
    rows[2][2] = "2099-01-01"  # file row 4
    rows.append([frame(1), "MT-DUP", DAY])  # file row 6: frame(1) again
    rows.insert(4, ["", "", ""])  # a blank line (file row 6) is skipped, not an error
    rows.append([frame(90), "MT-AGAIN", DAY])  # already on the platform
    upload = process(upload_file(makers.maker, vehicle_csv(rows)))

    assert upload.status == Status.REFUSED and upload.problem == "invalid_items"
    assert written() == before
    assert upload.bad_count == 4 and upload.created_count == 0
    bad = {row["row"]: row for row in upload.bad_rows}
    assert {n: bad[n]["reasons"] for n in bad} == {
        3: ["malformed_frame_no"],
        4: ["future_date"],
        7: ["duplicate_in_request"],
        8: ["already_registered"],
    }
    assert bad[3]["cells"]["frame_no"] == "12345" and bad[4]["cells"]["produced_on"] == "2099-01-01"


def test_the_page_lists_the_bad_rows_in_words_and_exports_them(makers):
    rows = good_rows(1, 2)
    rows[0][0] = frame(1, enterprise="3302")
    rows[1][2] = "2025/13/40"
    upload = process(upload_file(makers.maker, vehicle_csv(rows)))
    client = _logged_in(makers.maker)

    html = client.get(f"{PAGE}{upload.pk}/").content.decode()
    assert 'data-testid="upload-problem"' in html and "Nothing was registered." in html
    rows_shown = dict(re.findall(r'data-testid="bad-row" data-row="(\d+)">(.*?)</tr>', html, re.S))
    assert "does not start with your enterprise code 3714" in rows_shown["2"] and frame(1, "3302") in rows_shown["2"]
    assert "“2025-13-40” is not a date; write it as 2026-03-01." in rows_shown["3"]
    assert "hx-get" not in html  # finished: the page stops asking

    exported = client.get(f"{PAGE}{upload.pk}/", {"export": "csv"})
    lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Frame number", "Motor number", "Produced on", "What is wrong"]
    assert [line[0] for line in lines[1:]] == ["2", "3"]
    assert client.get(f"{PAGE}{upload.pk}/", {"export": "xlsx"}).status_code == 200

    chinese = _logged_in(makers.maker, language="zh-hans").get(f"{PAGE}{upload.pk}/").content.decode()
    assert "车架号" in chinese and "3714" in chinese


def test_an_xlsx_with_chinese_headings_date_cells_and_numbers_is_read(makers):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["车架号", "电机号", "生产日期（年-月-日）", "备注"])
    sheet.append([int(frame(1)), "MT1", dt.datetime(2025, 6, 1)])
    sheet.append([])
    sheet.append([frame(2), 4800002, dt.date(2025, 6, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)

    upload = process(upload_file(makers.maker, buffer.getvalue(), name="产量.XLSX"))

    assert upload.status == Status.DONE and upload.created_count == 2, upload.bad_rows
    assert dict(Vehicle.objects.values_list("frame_no", "motor_no")) == {frame(1): "MT1", frame(2): "4800002"}
    assert Vehicle.objects.get(frame_no=frame(2)).produced_on == dt.date(2025, 6, 2)


def test_a_csv_saved_by_excel_in_gb18030_with_slashed_dates_is_read(makers):
    data = vehicle_csv([[frame(1), "MT1", "2025/6/1"]], heading=("车架号", "电机号", "生产日期"), encoding="gb18030")
    upload = process(upload_file(makers.maker, data))
    assert upload.status == Status.DONE, (upload.problem, upload.bad_rows)
    assert Vehicle.objects.get().produced_on == dt.date(2025, 6, 1)


def test_battery_maker_uploads_battery_codes(makers):
    data = "电池编码,生产日期\nld48v20ah00000001,2025-06-01\nLD48V20AH00000002,2025-06-01\n".encode()
    upload = process(upload_file(makers.battery_maker, data, model="LD-48V20AH"))
    assert upload.status == Status.DONE and upload.kind == "battery"
    assert sorted(Battery.objects.values_list("serial", flat=True)) == ["LD48V20AH00000001", "LD48V20AH00000002"]
    assert LifecycleEvent.objects.filter(battery__isnull=False, type=EventType.PRODUCED).count() == 2


@pytest.mark.parametrize(
    ("data", "problem", "words"),
    [
        (b"frame,motor\n1,2\n", "missing_columns", "these are missing: Frame number, Motor number, Produced on"),
        (b"frame_no,motor_no,produced_on\n", "no_rows", "no rows under its heading"),
        (b"\xff\xfe\x00\x00garbage", "unreadable", "could not be read"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused_in_words(makers, data, problem, words):
    upload = process(upload_file(makers.maker, data))
    assert (upload.status, upload.problem) == (Status.REFUSED, problem)
    html = _logged_in(makers.maker).get(f"{PAGE}{upload.pk}/").content.decode()
    assert words in html
    assert written() == (0, 0, 0, 0)


def test_a_damaged_workbook_is_refused(makers):
    upload = process(upload_file(makers.maker, b"PK\x03\x04 not really a zip", name="batch.xlsx"))
    assert (upload.status, upload.problem) == (Status.REFUSED, "unreadable")


def test_more_rows_than_allowed_are_refused_before_anything_is_checked(makers, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ROWS", 3)
    upload = process(upload_file(makers.maker, vehicle_csv(good_rows(1, 4))))
    assert (upload.status, upload.problem, upload.problem_detail) == (Status.REFUSED, "too_many_rows", {"max": 3})
    assert written() == (0, 0, 0, 0)


def test_a_sheet_of_endless_blank_lines_is_refused_without_reading_it_all(makers, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_LINES", 10)
    data = vehicle_csv(good_rows(1, 2)) + b",,\n" * 50
    upload = process(upload_file(makers.maker, data))
    assert (upload.status, upload.problem) == (Status.REFUSED, "too_many_rows")


def test_the_bad_rows_kept_are_capped_and_the_count_is_whole(makers, monkeypatch):
    monkeypatch.setattr(uploads, "BAD_ROWS_KEPT", 5)
    upload = process(upload_file(makers.maker, vehicle_csv([["bad", "MT", DAY]] * 12)))
    assert upload.bad_count == 12 and [row["row"] for row in upload.bad_rows] == [2, 3, 4, 5, 6]
    html = _logged_in(makers.maker).get(f"{PAGE}{upload.pk}/").content.decode()
    assert "The first 5 of 12 wrong rows." in html


def test_an_upload_is_processed_once(makers):
    upload = upload_file(makers.maker, vehicle_csv(good_rows(1, 2)))
    assert uploads.production_upload_process(upload_id=upload.pk) == Status.DONE
    assert uploads.production_upload_process(upload_id=upload.pk) == "skipped"
    assert Vehicle.objects.count() == 2


def test_an_upload_whose_worker_was_lost_is_taken_again(makers):
    upload = upload_file(makers.maker, vehicle_csv(good_rows(1, 2)))
    stale = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ProductionUpload.objects.filter(pk=upload.pk).update(status=Status.WRITING, updated_at=stale)
    assert process(upload).status == Status.DONE


def test_a_file_of_100000_rows_is_registered_in_one_transaction(makers):
    """The upload's limit, through the same path as the API's 10,000: measured here at about 8 s."""
    data = vehicle_csv(good_rows(1, uploads.MAX_ROWS))
    upload = upload_file(makers.maker, data)
    started = time.monotonic()
    upload = process(upload)
    elapsed = time.monotonic() - started

    assert upload.status == Status.DONE and upload.created_count == 100_000
    assert written() == (100_000, 0, 100_000, 100_000)
    assert elapsed < 120, elapsed
    # One transaction: every row carries the same recorded time.
    assert LifecycleEvent.objects.values("recorded_at").distinct().count() == 1


# --- the pages -----------------------------------------------------------------------------------------------------


def test_upload_pages_are_for_makers_only(makers):
    upload = upload_file(makers.maker, vehicle_csv(good_rows(1, 1)))
    urls = [
        PAGE,
        f"{PAGE}template.csv",
        f"{PAGE}{upload.pk}/",
        f"{PAGE}{upload.pk}/status/",
        f"{PAGE}{upload.pk}/file/",
    ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
        for outsider in (makers.world.dealer, makers.world.city_regulator, makers.world.police):
            assert _logged_in(outsider).get(url).status_code == 404, url
    # Another maker's uploads do not exist for it; its own list does not show them.
    other = _logged_in(makers.other_maker)
    for url in urls[2:]:
        assert other.get(url).status_code == 404, url
    assert "batch.csv" not in other.get(PAGE).content.decode()
    assert _logged_in(makers.maker).get(f"{PAGE}{upload.pk}/file/").getvalue() == vehicle_csv(good_rows(1, 1))


def test_the_page_stores_the_file_and_queues_it_after_commit(makers, queued, django_capture_on_commit_callbacks):
    client = _logged_in(makers.maker)
    body = {
        "form_token": _token(client),
        "model": "TDT-2024A",
        "file": SimpleUploadedFile("week-23.csv", vehicle_csv(good_rows(1, 2))),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, body)

    upload = ProductionUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{PAGE}{upload.pk}/"
    assert queued == [(uploads.TASK, [upload.pk])]
    assert (upload.organization, upload.uploaded_by, upload.kind) == (
        makers.maker.organization,
        makers.maker,
        "vehicle",
    )
    assert upload.file_name == "week-23.csv" and upload.status == Status.QUEUED
    assert not Vehicle.objects.exists()  # the worker registers, not the request

    html = client.get(response["Location"]).content.decode()
    assert f'hx-get="/maker/production/{upload.pk}/status/"' in html
    assert 'data-status="queued"' in html

    # The same form sent again leads to the same upload.
    body["file"] = SimpleUploadedFile("week-23.csv", vehicle_csv(good_rows(1, 2)))
    assert client.post(PAGE, body)["Location"] == response["Location"]
    assert ProductionUpload.objects.count() == 1


def test_the_status_fragment_shows_progress_then_the_result(makers, queued):
    upload = upload_file(makers.maker, vehicle_csv(good_rows(1, 2)))
    client = _logged_in(makers.maker)
    ProductionUpload.objects.filter(pk=upload.pk).update(status=Status.READING, rows_read=5000, rows_total=20000)
    ProductionUpload.objects.filter(pk=upload.pk).update(progress=15)
    html = client.get(f"{PAGE}{upload.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in html and '<progress value="15" max="100"' in html
    assert "Reading the file: 5,000 of about 20,000 rows." in html

    ProductionUpload.objects.filter(pk=upload.pk).update(status=Status.QUEUED)
    process(upload)
    html = client.get(f"{PAGE}{upload.pk}/status/").content.decode()
    assert 'data-status="done"' in html and "hx-get" not in html
    assert "2 units registered, each with its ledger entry." in html


def test_an_upload_no_worker_took_is_queued_again_from_its_page(makers, queued):
    upload = upload_file(makers.maker, vehicle_csv(good_rows(1, 2)))
    ProductionUpload.objects.filter(pk=upload.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    client = _logged_in(makers.maker)
    client.get(f"{PAGE}{upload.pk}/status/")
    client.get(f"{PAGE}{upload.pk}/status/")
    assert queued == [(uploads.TASK, [upload.pk])]  # once a minute at most


def test_the_form_refuses_in_words_next_to_its_fields(makers, queued):
    client = _logged_in(makers.maker)
    cases = [
        ({"model": "NB-2024", "file": SimpleUploadedFile("a.csv", b"x")}, "model", "Choose one of your models"),
        ({"model": "TDT-2024A", "file": SimpleUploadedFile("a.pdf", b"x")}, "file", "Upload a CSV or XLSX file."),
        ({"model": "TDT-2024A"}, "file", "required"),
    ]
    for body, field, words in cases:
        html = client.post(PAGE, {"form_token": _token(client), **body}).content.decode()
        match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
        assert match and words in match.group(1), (field, html[:200])
        assert '<option value="TDT-2024A"' in html
    assert not ProductionUpload.objects.exists() and not queued


def test_the_list_shows_the_makers_uploads_with_their_status(makers, queued):
    done = process(upload_file(makers.maker, vehicle_csv(good_rows(1, 2)), name="good.csv"))
    refused = process(upload_file(makers.maker, vehicle_csv([["bad", "MT", DAY]]), name="bad.csv"))
    upload_file(makers.other_maker, vehicle_csv([[frame(1, "3302"), "MT", DAY]]), name="theirs.csv", model="NB-2024")
    client = _logged_in(makers.maker)

    html = client.get(PAGE).content.decode()
    assert 'data-testid="uploads-count" data-count="2"' in html and "theirs.csv" not in html
    statuses = re.findall(r'data-testid="upload-row" data-status="(\w+)"', html)
    assert statuses == [refused.status, done.status]
    only_done = client.get(PAGE, {"status": "done"}).content.decode()
    assert "good.csv" in only_done and "bad.csv" not in only_done
    template = client.get(f"{PAGE}template.csv").content.decode("utf-8-sig").splitlines()
    assert template == ["Frame number,Motor number,Produced on"]


def test_the_chinese_template_is_read_back(makers):
    template = _logged_in(makers.maker, language="zh-hans").get(f"{PAGE}template.csv").content
    assert template.decode("utf-8-sig").startswith("车架号,电机号,生产日期")
    upload = process(upload_file(makers.maker, template + f"{frame(1)},MT1,{DAY}\n".encode()))
    assert upload.status == Status.DONE and upload.created_count == 1


# --- with a real worker --------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_worker_registers_an_uploaded_file(transactional_db, makers, tmp_path):
    client = _logged_in(makers.maker)
    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]
    with running(args, log=tmp_path / "worker.log", MEDIA_ROOT=str(settings.MEDIA_ROOT)):
        response = client.post(
            PAGE,
            {
                "form_token": _token(client),
                "model": "TDT-2024A",
                "file": SimpleUploadedFile("batch.csv", vehicle_csv(good_rows(1, 500))),
            },
        )
        upload = ProductionUpload.objects.get()
        assert response["Location"] == f"{PAGE}{upload.pk}/"
        finished = wait_until(lambda: ProductionUpload.objects.get(pk=upload.pk).finished, timeout=60)
        assert finished, (tmp_path / "worker.log").read_text()[-3000:]
    upload.refresh_from_db()
    assert (upload.status, upload.created_count) == (Status.DONE, 500)
    assert Vehicle.objects.filter(model=makers.model).count() == 500
