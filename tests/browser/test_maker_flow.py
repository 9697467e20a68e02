"""The maker at its desk: file a new model (refused beyond the standard, then filed), upload a CSV of produced
frame numbers and watch a real worker register it, then upload a file with bad rows and read them."""

import pytest
from playwright.sync_api import expect

from catalog.models import VehicleModel
from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import PASSWORD
from tests.processes import running
from vehicles.models import ProductionUpload, Vehicle

ROWS = 5_000


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _csv(rows) -> bytes:
    return ("车架号,电机号,生产日期\n" + "".join(f"{f},{m},{d}\n" for f, m, d in rows)).encode()


def test_maker_files_a_model_then_registers_its_production_from_a_file(page_for, chain, settings, tmp_path):
    maker = chain.maker
    enterprise = maker.organization.enterprise_code
    worker = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]
    with running(worker, log=tmp_path / "worker.log", MEDIA_ROOT=str(settings.MEDIA_ROOT)):
        page = page_for(DESKTOP)
        _log_in(page, maker.username)

        # Certified models, from the home card.
        page.locator('a[href="/maker/models/"]').first.click()
        expect(page.get_by_test_id("models-count")).to_have_attribute("data-count", "3")
        page.get_by_test_id("model-new").first.click()
        page.get_by_test_id("code").fill("DQ-9")
        page.get_by_test_id("name").fill("德骑 9 号")
        page.get_by_test_id("max_speed_kmh").fill("32")  # beyond GB 17761-2024
        page.get_by_test_id("mass_kg").fill("54")
        page.get_by_test_id("nominal_voltage_v").fill("48")
        page.get_by_test_id("motor_power_w").fill("400")
        page.get_by_test_id("compatible_battery_models").select_option(["LD-4820"])
        page.get_by_test_id("ccc_cert_no").fill("2026011119000009")
        page.get_by_test_id("ccc_valid_until").fill("2031-06-30")
        page.get_by_test_id("model-submit").click()

        expect(page.get_by_test_id("error-max_speed_kmh")).to_contain_text("25")
        expect(page.get_by_test_id("code")).to_have_value("DQ-9")
        expect(page.get_by_test_id("compatible_battery_models")).to_have_values(["LD-4820"])
        screenshot(page, "maker-model-refused-desktop")
        assert not VehicleModel.objects.filter(code="DQ-9").exists()
        page.get_by_test_id("max_speed_kmh").fill("25")
        page.get_by_test_id("model-submit").click()
        expect(page.get_by_test_id("filed")).to_be_visible()
        row = page.locator('[data-testid="model-row"][data-code="DQ-9"]')
        expect(row.get_by_test_id("certificate-state")).to_have_attribute("data-state", "valid")
        screenshot(page, "maker-models-desktop")

        # Production: a CSV of frame numbers for the new model, registered in the background.
        page.get_by_test_id("nav-uploads").click()
        page.get_by_test_id("model").select_option("DQ-9")
        rows = [(f"{enterprise}226{n:08d}", f"M9{n:08d}", "2026-03-01") for n in range(1, ROWS + 1)]
        week = {"name": "第23周.csv", "mimeType": "text/csv", "buffer": _csv(rows)}
        page.get_by_test_id("file").set_input_files(week)
        page.get_by_test_id("upload-submit").click()
        progress = page.get_by_test_id("upload-progress")
        expect(page.get_by_test_id("progress-bar")).to_be_visible()
        expect(progress).to_have_attribute("data-status", "done", timeout=60000)
        expect(page.get_by_test_id("upload-done")).to_contain_text("5,000")
        screenshot(page, "maker-upload-done-desktop")
        assert Vehicle.objects.filter(model__code="DQ-9").count() == ROWS

        # A second file: two rows are wrong, so nothing is registered and both are listed with the reason.
        page.get_by_test_id("back-to-uploads").click()
        page.get_by_test_id("model").select_option("DQ-9")
        bad = [
            (f"{enterprise}226{ROWS + 1:08d}", "M9X1", "2026-03-01"),
            (f"{enterprise}226{1:08d}", "M9X2", "2026-03-01"),  # registered by the first file
            ("12345", "M9X3", "2026-03-01"),
        ]
        page.get_by_test_id("file").set_input_files({"name": "补录.csv", "mimeType": "text/csv", "buffer": _csv(bad)})
        page.get_by_test_id("upload-submit").click()
        expect(progress).to_have_attribute("data-status", "refused", timeout=60000)
        expect(page.locator('[data-testid="bad-row"][data-row="3"]')).to_contain_text("已在平台登记")
        expect(page.locator('[data-testid="bad-row"][data-row="4"]')).to_contain_text("12345")
        expect(page.get_by_test_id("bad-row")).to_have_count(2)
        screenshot(page, "maker-upload-bad-rows-desktop")
        assert Vehicle.objects.filter(model__code="DQ-9").count() == ROWS

        # Both uploads are in the list, with their status.
        page.get_by_test_id("back-to-uploads").click()
        statuses = page.locator('[data-testid="upload-row"]')
        expect(statuses).to_have_count(2)
        expect(statuses.first).to_have_attribute("data-status", "refused")
        expect(statuses.nth(1)).to_have_attribute("data-status", "done")
        screenshot(page, "maker-uploads-desktop")
        assert ProductionUpload.objects.filter(organization=maker.organization).count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
