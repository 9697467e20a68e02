"""Enterprise duties (日管控、周排查、月调度): filing a record through the API and the phone pages, against the
checklist of the enterprise's kind; late, future and second records; who may file and who sees what; the duty
ledger with its missing periods and its XLSX; the home cards and the admin."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from core.models import AuditEntry, OrganizationKind
from supervision.duty_periods import period_of
from supervision.duty_reference import DUTY_CHECKLISTS
from supervision.models import DutyRecord, DutyTemplate
from tests.conftest import _member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/v1/duty-records/"


def today() -> dt.date:
    return timezone.localdate()


def answers(org_kind: str = "dealer", kind: str = "daily", **not_ok: str) -> list[dict]:
    """Every item of the checklist in order; `not_ok` maps an item's index (as `i3`) to its note."""
    items = DUTY_CHECKLISTS[org_kind][kind]
    notes = {int(key[1:]): note for key, note in not_ok.items()}
    return [{"item": item, "ok": i not in notes, "note": notes.get(i, "")} for i, item in enumerate(items)]


def body(kind: str = "daily", period: str | None = None, org_kind: str = "dealer", **extra) -> dict:
    return {
        "kind": kind,
        "period": period or period_of(kind, today()).code,
        "items": answers(org_kind, kind),
        "signed_by": "李质安",
        **extra,
    }


def registered(org, day: dt.date) -> None:
    """The enterprise was registered on the platform on that (local) day."""
    type(org).objects.filter(pk=org.pk).update(created_at=timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0))))
    org.refresh_from_db()


# ── Filing through the API ───────────────────────────────────────────────────────────────────────────────────


def test_a_dealer_files_todays_check_and_gets_it_back(world, api):
    response = api(world.dealer).post(URL, body(), format="json")

    assert response.status_code == 201, response.json()
    record = DutyRecord.objects.get()
    assert response.json() == {"id": record.pk, "kind": "daily", "period": today().isoformat(), "late": False}
    assert record.organization == world.org("dealer") and record.region_code == "371402"
    assert (record.period_start, record.period_end) == (today(), today())
    assert record.filed_by == world.dealer and record.signed_by == "李质安"
    assert [a["item"] for a in record.items] == DUTY_CHECKLISTS["dealer"]["daily"]
    assert all(a["ok"] for a in record.items)


def test_a_record_filed_after_its_period_ended_is_late_and_one_during_it_is_not(world, api):
    client = api(world.dealer)
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    last_week = period_of("weekly", today()).previous().code
    last_month = period_of("monthly", today()).previous()
    cases = [
        ("daily", yesterday, True),
        ("weekly", last_week, True),
        ("weekly", period_of("weekly", today()).code, False),
        ("monthly", last_month.code, True),
        ("monthly", period_of("monthly", today()).code.lower(), False),  # written in lower case: the same month
    ]
    for kind, period, late in cases:
        response = client.post(URL, body(kind, period), format="json")
        assert response.status_code == 201, (kind, period, response.json())
        assert response.json()["late"] is late, (kind, period)
    weekly = DutyRecord.objects.get(kind="weekly", late=True)
    assert weekly.period == last_week and weekly.period_end - weekly.period_start == dt.timedelta(days=6)
    assert weekly.period_start.isoweekday() == 1
    monthly = DutyRecord.objects.get(kind="monthly", late=True)
    assert (monthly.period_start, monthly.period_end) == (last_month.start, last_month.end)


def test_a_future_period_is_400_and_a_period_written_wrong_too(world, api):
    client = api(world.dealer)
    future = [
        ("daily", (today() + dt.timedelta(days=1)).isoformat()),
        ("weekly", period_of("weekly", today()).next().code),
        ("monthly", period_of("monthly", today()).next().code),
    ]
    for kind, period in future:
        response = client.post(URL, body(kind, period), format="json")
        assert response.status_code == 400, (kind, period)
        assert response.json()["error"]["code"] == "future_period"
        assert "period" in response.json()["error"]["fields"]
    wrong = [("daily", "2026-02-30"), ("daily", "2026-W09"), ("weekly", "2026-W54"), ("monthly", "2026-13")]
    for kind, period in wrong:
        response = client.post(URL, body(kind, period), format="json")
        assert response.status_code == 400, (kind, period)
        assert response.json()["error"]["code"] == "invalid_period"
    assert not DutyRecord.objects.exists()


def test_the_same_kind_and_period_twice_is_409_and_a_replayed_request_is_not(world, api):
    client = api(world.dealer)
    first = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="duty-1")
    replay = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="duty-1")
    again = client.post(URL, body(signed_by="王五"), format="json")

    assert first.status_code == replay.status_code == 201 and replay.json() == first.json()
    assert again.status_code == 409 and again.json()["error"]["code"] == "duty_already_recorded"
    assert DutyRecord.objects.count() == 1 and DutyRecord.objects.get().signed_by == "李质安"
    # Another duty of the same days is another record; another enterprise's record of the same day too.
    assert client.post(URL, body("weekly"), format="json").status_code == 201
    assert api(world.other_dealer).post(URL, body(), format="json").status_code == 201


def test_the_answers_are_the_checklist_of_the_enterprises_kind(world, api):
    client = api(world.dealer)
    unknown = body(items=[*answers()[:-1], {"item": "店门口已打扫", "ok": True, "note": ""}])
    response = client.post(URL, unknown, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_item"
    assert list(response.json()["error"]["fields"]["items"]) == [str(len(answers()) - 1)]

    twice = body(items=[*answers(), answers()[0]])
    response = client.post(URL, twice, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "duplicate_item"

    missing = body(items=answers()[1:])
    response = client.post(URL, missing, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "items_missing"
    assert response.json()["error"]["fields"]["items"] == [DUTY_CHECKLISTS["dealer"]["daily"][0]]

    unexplained = body(items=[{**a, "ok": False} if i == 2 else a for i, a in enumerate(answers())])
    response = client.post(URL, unexplained, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "note_required"
    assert list(response.json()["error"]["fields"]["items"]) == ["2"]

    for malformed in ([], [{"item": "x", "ok": "maybe"}], "all fine", [answers()[0] | {"note": "x" * 501}]):
        response = client.post(URL, body(items=malformed), format="json")
        assert response.status_code == 400, malformed
    assert client.post(URL, body(signed_by="  "), format="json").status_code == 400
    assert not DutyRecord.objects.exists()

    # In any order; an item not in order says what was found, and is kept in the checklist's order.
    shuffled = list(reversed(answers(i2="两台在售车辆无 CCC 标志，已下架待查")))
    response = client.post(URL, body(items=shuffled), format="json")
    assert response.status_code == 201
    items = DutyRecord.objects.get().items
    assert [a["item"] for a in items] == DUTY_CHECKLISTS["dealer"]["daily"]
    assert items[2] == {
        "item": DUTY_CHECKLISTS["dealer"]["daily"][2],
        "ok": False,
        "note": "两台在售车辆无 CCC 标志，已下架待查",
    }
    # The dealer's checklist is not the maker's.
    maker_items = body(items=answers("manufacturer"))
    assert client.post(URL, {**maker_items, "period": "2026-01-01"}, format="json").json()["error"]["code"] == (
        "unknown_item"
    )


def test_an_edited_checklist_is_the_one_answered(world, api):
    template = DutyTemplate.objects.get(organization_kind="dealer", kind="daily")
    template.items = ["消防器材完好", "当日销售已登记"]
    template.save()
    client = api(world.dealer)
    assert client.post(URL, body(), format="json").json()["error"]["code"] == "unknown_item"
    mine = [{"item": "当日销售已登记", "ok": True}, {"item": "消防器材完好", "ok": True, "note": ""}]
    assert client.post(URL, body(items=mine), format="json").status_code == 201
    assert [a["item"] for a in DutyRecord.objects.get().items] == ["消防器材完好", "当日销售已登记"]


def test_makers_and_battery_makers_file_their_own_checklists_and_nobody_else_files(world, chain, api):
    assert api(chain.maker).post(URL, body(org_kind="manufacturer"), format="json").status_code == 201
    monthly = body("monthly", org_kind="battery_maker")
    assert api(chain.battery_maker).post(URL, monthly, format="json").status_code == 201

    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区修车铺")
    for outsider in (world.district_regulator, world.police, shop, world.superuser):
        response = api(outsider).post(URL, body(), format="json")
        assert response.status_code == 403, outsider
        assert response.json()["error"]["code"] == "not_a_duty_holder"
    assert api().post(URL, body(), format="json").status_code == 401
    suspended = world.org("other_dealer")
    suspended.status = "suspended"
    suspended.save()
    assert api(world.other_dealer).post(URL, body(), format="json").status_code == 401  # its logins are refused
    assert DutyRecord.objects.count() == 2


def test_filing_puts_nothing_in_the_audit_log(world, api):
    before = AuditEntry.objects.count()
    assert api(world.dealer).post(URL, body(), format="json").status_code == 201
    assert AuditEntry.objects.count() == before
    assert not AuditEntry.objects.filter(data__icontains="李质安").exists()


# ── Reading through the API ──────────────────────────────────────────────────────────────────────────────────


def _ids(client, query: str = "") -> set[int]:
    response = client.get(URL + query)
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_the_enterprise_sees_its_own_records_and_regulators_those_of_their_subtree(world, api):
    mine = api(world.dealer).post(URL, body(), format="json").json()["id"]
    theirs = api(world.other_dealer).post(URL, body(), format="json").json()["id"]
    far = api(world.far_dealer).post(URL, body(), format="json").json()["id"]

    assert _ids(api(world.dealer)) == {mine}
    assert _ids(api(world.dealer), f"?organization={world.org('other_dealer').pk}") == set()
    assert _ids(api(world.other_dealer)) == {theirs}
    assert _ids(api(world.district_regulator)) == {mine}
    assert _ids(api(world.other_district_regulator)) == {theirs}
    assert _ids(api(world.city_regulator)) == {mine, theirs}
    assert _ids(api(world.city_regulator), f"?organization={world.org('dealer').pk}") == {mine}
    assert _ids(api(world.other_city_regulator)) == {far}
    assert _ids(api(world.police)) == set()
    assert _ids(api(world.superuser)) == {mine, theirs, far}
    assert api().get(URL).status_code == 401

    row = api(world.district_regulator).get(URL).json()["results"][0]
    dealer = {"id": world.org("dealer").pk, "name": "德城区车行", "kind": "dealer", "region_code": "371402"}
    assert row["organization"] == dealer
    assert row["kind"] == "daily" and row["period"] == today().isoformat() and row["late"] is False
    assert row["period_start"] == row["period_end"] == today().isoformat()
    assert row["signed_by"] == "李质安" and len(row["items"]) == len(DUTY_CHECKLISTS["dealer"]["daily"])


def test_the_list_filters_by_kind_and_by_the_periods_it_overlaps(world, api):
    client = api(world.dealer)
    day = today() - dt.timedelta(days=today().day)  # the last day of last month
    ids = {}
    for kind in ("daily", "weekly", "monthly"):
        period = period_of(kind, day).code
        ids[kind] = client.post(URL, body(kind, period), format="json").json()["id"]
    assert _ids(client, "?kind=weekly") == {ids["weekly"]}
    month = period_of("monthly", day).code
    assert _ids(client, f"?period_from={month}&period_to={month}") == set(ids.values())
    assert _ids(client, f"?period_from={day.isoformat()}&period_to={day.isoformat()}") == set(ids.values())
    assert _ids(client, f"?period_from={(day + dt.timedelta(days=1)).isoformat()}") == (
        {ids["weekly"]} if period_of("weekly", day).end > day else set()
    )
    for bad in ("?period_from=yesterday", "?period_to=2026-W99", "?kind=yearly", "?organization=x"):
        response = client.get(URL + bad)
        assert response.status_code == 400, bad
    assert client.get(URL + "?period_from=soon").json()["error"]["code"] == "invalid_period"


# ── The pages ────────────────────────────────────────────────────────────────────────────────────────────────


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form_body(html: str, **overrides) -> dict:
    """What the browser sends for the form as shown: every switch that is on, every hidden item."""
    data = {"form_token": _token(html)}
    for name, value in re.findall(r'<input type="hidden" name="(item_\d+)" value="([^"]*)"', html):
        data[name] = value
    for name in re.findall(r'name="(ok_\d+)"[^>]*checked', html):
        data[name] = "on"
    for name, value in re.findall(r'name="(note_\d+)" id="id_note_\d+" value="([^"]*)"', html):
        data[name] = value
    data["period"] = re.search(r'name="period" id="id_period" value="([^"]*)"', html).group(1)
    data["signed_by"] = re.search(r'name="signed_by" id="id_signed_by" value="([^"]*)"', html).group(1)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_daily_check_page_prefills_today_with_every_item_in_order_and_files_once(world):
    client = _logged_in(world.dealer)
    html = client.get("/work/duties/daily/").content.decode()
    assert 'lang="zh-hans"' in html and "每日检查" in html
    for item in DUTY_CHECKLISTS["dealer"]["daily"]:
        assert item in html
    assert html.count('data-testid="duty-ok"') == html.count(" checked") == len(DUTY_CHECKLISTS["dealer"]["daily"])
    assert f'value="{today().isoformat()}"' in html

    data = _form_body(html, signed_by="李质安")
    response = client.post("/work/duties/daily/", data)
    again = client.post("/work/duties/daily/", data)  # a double tap

    record = DutyRecord.objects.get()
    assert response.status_code == again.status_code == 302
    assert response["Location"] == again["Location"] == f"/work/duties/?filed={record.pk}"
    assert record.late is False and all(a["ok"] for a in record.items) and record.signed_by == "李质安"
    ledger = client.get(response["Location"]).content.decode()
    assert 'data-testid="duty-filed"' in ledger and f'data-period="{today().isoformat()}"' in ledger
    # Next time the signer is filled in from the last record, and today's record is said to be filed.
    page = client.get("/work/duties/daily/").content.decode()
    assert 'value="李质安"' in page and 'data-testid="duty-already-filed"' in page


def test_an_item_not_in_order_needs_a_note_shown_next_to_it_and_what_was_typed_is_kept(world):
    client = _logged_in(world.dealer)
    html = client.get("/work/duties/weekly/").content.decode()
    data = _form_body(html, signed_by="李质安", ok_1=None, note_3="已培训 3 人")
    html = client.post("/work/duties/weekly/", data).content.decode()

    assert not DutyRecord.objects.exists()
    assert 'data-testid="error-note_1"' in html
    assert 'id="id_ok_1" value="on" data-testid' in html  # switched off, as sent
    assert 'value="已培训 3 人"' in html and 'value="李质安"' in html

    data = _form_body(html, ok_1=None, note_1="投诉 1 件未反馈，已联系消费者")
    assert client.post("/work/duties/weekly/", data).status_code == 302
    record = DutyRecord.objects.get()
    assert record.kind == "weekly" and record.period == period_of("weekly", today()).code
    assert record.items[1]["ok"] is False and record.items[1]["note"] == "投诉 1 件未反馈，已联系消费者"
    assert record.items[3] == {"item": DUTY_CHECKLISTS["dealer"]["weekly"][3], "ok": True, "note": "已培训 3 人"}


def test_the_page_refuses_a_future_period_and_a_second_record_in_words(world, api):
    api(world.dealer).post(URL, body("monthly"), format="json")
    client = _logged_in(world.dealer)
    html = client.get("/work/duties/monthly/").content.decode()
    second = client.post("/work/duties/monthly/", _form_body(html, signed_by="李质安")).content.decode()
    assert 'data-testid="error-period"' in second
    html = client.get("/work/duties/monthly/").content.decode()
    future = period_of("monthly", today()).next().code
    refused = client.post("/work/duties/monthly/", _form_body(html, period=future, signed_by="李")).content.decode()
    assert 'data-testid="error-period"' in refused
    assert DutyRecord.objects.count() == 1


def test_the_ledger_shows_records_late_ones_marked_the_missing_periods_and_exports_them(world, api):
    org = world.org("dealer")
    registered(org, today() - dt.timedelta(days=4))
    client = api(world.dealer)
    three_days_ago = (today() - dt.timedelta(days=3)).isoformat()
    assert client.post(URL, body("daily", three_days_ago), format="json").json()["late"] is True
    client.post(URL, body("daily"), format="json")

    page = _logged_in(world.dealer)
    html = page.get("/work/duties/").content.decode()
    missing = set(re.findall(r'data-testid="missing-row" data-kind="daily" data-period="([^"]+)"', html))
    expected = {(today() - dt.timedelta(days=n)).isoformat() for n in (1, 2, 4)}  # registered 4 days ago
    assert missing == expected
    assert f'data-period="{three_days_ago}" data-late="true"' in html
    assert f'data-period="{today().isoformat()}" data-late="false"' in html
    assert 'data-testid="duty-count" data-count="2"' in html
    assert re.search(r'data-testid="standing" data-kind="daily" data-filed="true"', html)
    assert re.search(r'data-testid="standing" data-kind="monthly" data-filed="false"', html)
    assert f'href="/work/duties/daily/?period={(today() - dt.timedelta(days=1)).isoformat()}"' in html

    filtered = page.get("/work/duties/?kind=weekly").content.decode()
    assert 'data-testid="duty-count" data-count="0"' in filtered and 'data-testid="empty"' in filtered

    response = page.get("/work/duties/?export=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("期间", "履职事项", "期间开始", "期间结束", "状态")
    statuses = {row[0]: row[4] for row in rows[1:]}
    assert statuses[three_days_ago] == "逾期补报" and statuses[today().isoformat()] == "按时填报"
    assert all(statuses[day] == "未填报" for day in expected)
    answered = next(row[8] for row in rows[1:] if row[0] == three_days_ago)
    assert "✓ " + DUTY_CHECKLISTS["dealer"]["daily"][0] in answered


def test_an_empty_ledger_says_what_to_do_and_outsiders_get_no_duty_pages(world, chain):
    html = _logged_in(world.dealer).get("/work/duties/").content.decode()
    assert 'data-testid="empty"' in html and 'href="/work/duties/daily/"' in html
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区修车铺")
    for outsider in (world.district_regulator, world.police, shop):
        client = _logged_in(outsider)
        assert client.get("/work/duties/").status_code == 404
        assert client.get("/work/duties/daily/").status_code == 404
    assert _logged_in(chain.maker).get("/work/duties/monthly/").status_code == 200
    assert _logged_in(world.dealer).get("/work/duties/yearly/").status_code == 404
    anonymous = Client().get("/work/duties/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_another_dealers_ledger_does_not_show_mine(world, api):
    api(world.dealer).post(URL, body(), format="json")
    html = _logged_in(world.other_dealer).get("/work/duties/").content.decode()
    assert 'data-testid="duty-count" data-count="0"' in html and 'data-testid="duty-row"' not in html


def test_home_cards_open_the_duty_ledger_for_duty_holders_only(world, chain):
    for user in (world.dealer, chain.maker, chain.battery_maker):
        assert 'href="/work/duties/"' in _logged_in(user).get("/").content.decode(), user
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区修车铺")
    for user in (shop, world.district_regulator):
        assert 'href="/work/duties/"' not in _logged_in(user).get("/").content.decode(), user


# ── Admin ────────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_administrator_edits_a_checklist_one_item_per_line_and_only_reads_records(world, api):
    api(world.dealer).post(URL, body(), format="json")
    client = Client()
    client.force_login(world.superuser)
    template = DutyTemplate.objects.get(organization_kind="dealer", kind="daily")
    url = f"/admin/supervision/dutytemplate/{template.pk}/change/"
    html = client.get(url).content.decode()
    assert DUTY_CHECKLISTS["dealer"]["daily"][0] in html
    lines = "消防器材完好\n\n 当日销售已登记 \n"
    response = client.post(url, {"organization_kind": "dealer", "kind": "daily", "items": lines})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.items == ["消防器材完好", "当日销售已登记"]
    assert client.post(url, {"organization_kind": "dealer", "kind": "daily", "items": "a\na"}).status_code == 200
    template.refresh_from_db()
    assert template.items == ["消防器材完好", "当日销售已登记"]  # an item twice is refused, the checklist kept

    record = DutyRecord.objects.get()
    page = client.get(f"/admin/supervision/dutyrecord/{record.pk}/change/")
    assert page.status_code == 200 and "填报时间" in page.content.decode() and "投诉时间" not in page.content.decode()
    assert "李质安" in client.get("/admin/supervision/dutyrecord/").content.decode()
    assert client.post(f"/admin/supervision/dutyrecord/{record.pk}/change/", {"signed_by": "x"}).status_code == 403
    assert client.get("/admin/supervision/dutyrecord/add/").status_code == 403
    record.refresh_from_db()
    assert record.signed_by == "李质安"
