"""A rider on a phone complains about a bike from its QR page, keeps the ticket, and checks its status later."""

import re

from playwright.sync_api import expect

from alerts.models import Alert, Complaint
from alerts.services import alert_transition
from core.personal_data import decrypt
from tests.alerts.conftest import drain, sold  # noqa: F401  (sold is a fixture)
from tests.alerts.test_pages import png
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.test_alert_flow import _log_in

MOBILE = "13912340987"


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_rider_files_a_complaint_sees_the_ticket_and_follows_its_status(page_for, chain, sold):  # noqa: F811
    page = page_for(PHONE)
    page.goto(f"/v/{sold.code}")
    form = page.get_by_test_id("complaint-form")
    expect(form).to_be_hidden()  # folded away under the button until asked for
    page.get_by_test_id("complaint-open").click()
    expect(form).to_be_visible()

    # Sent empty, with a mistyped phone: each problem is said next to its field, and the phone is kept.
    page.get_by_test_id("complaint-phone").fill("1391234")
    page.get_by_test_id("complaint-submit").click()
    expect(page.get_by_test_id("error-category")).to_be_visible()
    expect(page.get_by_test_id("error-description")).to_be_visible()
    expect(page.get_by_test_id("error-contact_phone")).to_be_visible()
    expect(page.get_by_test_id("complaint-phone")).to_have_value("1391234")
    _no_sideways_scrolling(page)
    screenshot(page, "public-complaint-errors-phone")
    assert not Complaint.objects.exists()

    page.get_by_test_id("complaint-category").select_option("battery_fire_risk")
    page.get_by_test_id("complaint-description").fill("充电时电池发烫冒烟，车行说是正常现象。")
    page.get_by_test_id("complaint-phone").fill(MOBILE)
    page.get_by_test_id("complaint-photos").set_input_files(
        files=[{"name": "battery.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.get_by_test_id("complaint-submit").dblclick()  # a double tap files it once

    expect(page.get_by_test_id("complaint-filed")).to_be_visible()
    ticket = page.get_by_test_id("ticket").inner_text().strip()
    assert re.fullmatch(r"TS[0-9A-HJKMNP-TV-Z]{10}", ticket)
    complaint = Complaint.objects.get()
    assert complaint.ticket == ticket and decrypt(complaint.contact_phone_enc) == MOBILE
    assert complaint.photos.count() == 1
    assert MOBILE not in page.content()
    _no_sideways_scrolling(page)
    screenshot(page, "public-complaint-filed-phone")

    page.get_by_test_id("status-link").click()
    expect(page).to_have_url(re.compile(f"/complaints/{ticket}$"))
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", "received")

    # The regulator of the bike's district reads it on the alert, photo included, and shows the number to call
    # back (with a reason, audited).
    drain()
    alert = Alert.objects.get(dedup_key=complaint.alert_dedup_key)
    regulator = chain.world.district_regulator
    desk = page_for(DESKTOP)
    _log_in(desk, regulator.username)
    desk.goto(f"/alerts/{alert.pk}/")
    section = desk.get_by_test_id("complaint")
    expect(section.get_by_test_id("complaint-description")).to_contain_text("充电时电池发烫冒烟")
    expect(section.get_by_test_id("complaint-phone")).to_have_text("139****0987")
    photo = section.get_by_test_id("complaint-photo").locator("img")
    expect(photo).to_be_visible()
    assert desk.evaluate("img => img.naturalWidth", photo.element_handle()) == 8  # the image itself loads
    section.get_by_test_id("phone-reason").fill("回访投诉人")
    section.get_by_test_id("phone-unmask-submit").click()
    expect(desk.get_by_test_id("complaint-phone")).to_have_text(MOBILE)
    screenshot(desk, "alert-complaint-desktop")
    alert_transition(user=regulator, alert_id=alert.pk, action="request_rectification", note="约谈车行")
    page.get_by_test_id("refresh-link").click()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", "in_progress")
    alert_transition(user=regulator, alert_id=alert.pk, action="dismiss", note="已处理")
    page.reload()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", "closed")
    assert "约谈" not in page.content()

    # Later, from the bike's page: look the ticket up as typed (lower case), in English.
    page.goto(f"/v/{sold.code}")
    page.get_by_test_id("switch-en").click()
    page.get_by_test_id("complaint-lookup-link").click()
    page.get_by_test_id("lookup-ticket").fill(ticket.lower())
    page.get_by_test_id("lookup-submit").click()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", "closed")
    expect(page.get_by_test_id("status-text")).to_contain_text("finished handling")
    _no_sideways_scrolling(page)
    screenshot(page, "public-complaint-status-phone-en")
