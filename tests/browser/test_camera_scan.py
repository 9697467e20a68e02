"""The camera reader of the phone pages (static/js/scanner.js), with Chromium's fake camera showing a bike's QR
label: the code lands in the field and the page's live check shows the bike; without a camera, typing goes on."""

import pytest
import qrcode
from playwright.sync_api import expect

from dealers.models import Sale
from repairs.models import Repair
from tests.browser.conftest import CHROMIUM, PHONE, screenshot
from tests.chain import BUYER
from tests.factories import PASSWORD
from tests.repairs.conftest import Workshop, repair_shop
from vehicles.models import Battery

# As tests/browser/conftest.py launches Chromium.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 640, 480
READ = 20000  # ms: the first tap loads the reader and starts the camera; a busy machine takes its time


def _video(path, luma: bytearray, frames: int = 5) -> None:
    """A YUV4MPEG2 video of one grey picture (4:2:0, the chroma planes neutral), as Chromium's fake camera plays it."""
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def _paint(luma: bytearray, x: int, y: int, width: int, height: int) -> None:
    for row in range(y, y + height):
        luma[row * WIDTH + x : row * WIDTH + x + width] = bytes([16]) * width


def label_video(path, text: str) -> None:
    """A QR label of `text`, black on white, as a camera held over it sees it."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # the quiet zone included
    scale = min(WIDTH, HEIGHT) * 9 // 10 // len(matrix)
    left, top = (WIDTH - len(matrix) * scale) // 2, (HEIGHT - len(matrix) * scale) // 2
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                _paint(luma, left + x * scale, top + y * scale, scale, scale)
    _video(path, luma)


# EAN-13 (GS1): the left half's digits in code L or G as the first digit says, the right half's in code R.
_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
_R = ["".join("1" if bit == "0" else "0" for bit in code) for code in _L]
_G = [code[::-1] for code in _R]
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLL", "LGLGGL", "LGGLGL"]


def ean13(first12: str) -> str:
    """Twelve digits with their check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str(-total % 10)


def bar_code_video(path, digits: str) -> None:
    """An EAN-13 bar code of `digits` (13 of them), as printed on a battery's label."""
    left = "".join(
        (_L if kind == "L" else _G)[int(d)] for kind, d in zip(_PARITY[int(digits[0])], digits[1:7], strict=True)
    )
    modules = "101" + left + "01010" + "".join(_R[int(d)] for d in digits[7:]) + "101"
    scale = WIDTH * 8 // 10 // len(modules)
    x0, y0 = (WIDTH - len(modules) * scale) // 2, HEIGHT // 4
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for i, bit in enumerate(modules):
        if bit == "1":
            _paint(luma, x0 + i * scale, y0, scale, HEIGHT // 2)
    _video(path, luma)


@pytest.fixture
def camera_page(chromium, live_server, browser_settings, tmp_path):
    """`camera_page(text)`: a phone-sized page in a Chromium whose camera shows a QR label of `text` (or with
    `bar_code=True`, an EAN-13 bar code of it); with `allowed=False` the site may not use the camera."""
    browsers = []

    def open_page(text: str, *, bar_code: bool = False, allowed: bool = True):
        video = tmp_path / "label.y4m"
        (bar_code_video if bar_code else label_video)(video, text)
        browser = chromium.browser_type.launch(
            executable_path=CHROMIUM,
            args=[
                *ARGS,
                *(["--use-fake-ui-for-media-stream"] if allowed else []),
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        browsers.append(browser)
        context = browser.new_context(
            viewport=PHONE,
            base_url=live_server.url,
            locale="en-US",
            permissions=["camera"] if allowed else [],
            has_touch=True,
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_page
    for browser in browsers:
        browser.close()


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()


def test_scanning_the_bike_label_at_the_sale_fills_the_code_and_the_check_shows_the_bike(
    camera_page, chain, live_server
):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    page = camera_page(f"{live_server.url}/v/{vehicle.code}")
    _log_in(page, dealer.username)
    page.goto("/dealer/sales/new/")
    screenshot(page, "scan-sale-form-phone")

    page.get_by_test_id("scan-frame_no").tap()

    expect(page.get_by_test_id("frame_no")).to_have_value(vehicle.code, timeout=READ)
    expect(page.get_by_test_id("scanner")).not_to_be_visible()  # closed after the read
    expect(page.get_by_test_id("check-vehicle")).to_have_attribute("data-ok", "true")
    expect(page.get_by_test_id("check-vehicle")).to_contain_text(vehicle.model.code)
    assert page.evaluate("document.querySelector('[data-testid=scanner-video]').srcObject") is None  # camera off

    # The battery's code is typed (the fallback), then the sale goes through with the scanned bike.
    page.get_by_test_id("battery_serials").fill(battery.serial)
    expect(page.get_by_test_id("pair-check")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("buyer_name").fill(BUYER["name"])
    page.get_by_test_id("buyer_id_number").fill(BUYER["id_number"])
    page.get_by_test_id("buyer_phone").fill(BUYER["phone"])
    page.get_by_test_id("sale-submit").tap()
    expect(page.get_by_test_id("sale-done")).to_be_visible()
    assert Sale.objects.get().vehicle == vehicle


def test_scanning_labels_into_the_delivery_list_shows_each_verdict(camera_page, chain, live_server):
    vehicle = chain.vehicle()
    page = camera_page(f"{live_server.url}/v/{vehicle.code}")
    _log_in(page, chain.world.dealer.username)
    page.goto("/dealer/receive/")
    page.get_by_test_id("supplier").select_option(str(chain.maker.organization_id))

    page.get_by_test_id("scan-codes").tap()

    expect(page.get_by_test_id("codes")).to_have_value(f"{vehicle.code}\n", timeout=READ)
    expect(page.get_by_test_id(f"check-{vehicle.frame_no}")).to_have_attribute("data-verdict", "accepted")
    page.get_by_test_id("scan-codes").tap()  # the same label again is listed once
    expect(page.get_by_test_id("scanner")).not_to_be_visible(timeout=READ)
    expect(page.get_by_test_id("codes")).to_have_value(f"{vehicle.code}\n")


def test_scanning_a_batterys_bar_code_adds_it_to_the_battery_list(camera_page, chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    Battery.objects.filter(pk=battery.pk).update(serial=ean13("690482000001"))  # a pack labelled with an EAN-13
    battery.refresh_from_db()
    page = camera_page(battery.serial, bar_code=True)
    _log_in(page, dealer.username)
    page.goto("/dealer/sales/new/")
    page.get_by_test_id("frame_no").fill(vehicle.frame_no)

    page.get_by_test_id("scan-battery_serials").tap()

    expect(page.get_by_test_id("battery_serials")).to_have_value(f"{battery.serial}\n", timeout=READ)
    expect(page.get_by_test_id("pair-check")).to_have_attribute("data-ready", "true")


def test_scanning_the_bike_label_at_a_repair_fills_the_frame_field_and_the_proof(camera_page, chain, live_server):
    workshop = Workshop(chain=chain, shop=repair_shop("371402"), other_shop=repair_shop("371403"))
    vehicle, _ = workshop.bike()
    page = camera_page(f"{live_server.url}/v/{vehicle.code}")
    _log_in(page, workshop.shop.username)
    page.goto("/repair/new/")

    page.get_by_test_id("scan-frame_no").tap()

    expect(page.get_by_test_id("frame_no")).to_have_value(vehicle.code, timeout=READ)
    expect(page.get_by_test_id("proof")).to_have_value(vehicle.code)  # the scan shows the bike is at hand
    page.get_by_test_id("kind").select_option("brake_tyre")
    page.get_by_test_id("repair-submit").tap()
    expect(page.get_by_test_id("repair-done")).to_be_visible()
    assert Repair.objects.get().vehicle == vehicle


def test_a_code_the_field_does_not_take_keeps_the_reader_open_until_cancelled(camera_page, chain):
    page = camera_page("https://shop.example.com/promo?id=42")  # a maker's advertising QR, not a label
    _log_in(page, chain.world.dealer.username)
    page.goto("/dealer/sales/new/")

    page.get_by_test_id("scan-frame_no").tap()

    expect(page.get_by_test_id("scanner")).to_be_visible()
    expect(page.get_by_test_id("scanner-status")).to_contain_text("不是本栏所需的编码", timeout=READ)
    screenshot(page, "scan-reader-open-phone")
    page.get_by_test_id("scanner-cancel").tap()
    expect(page.get_by_test_id("scanner")).not_to_be_visible()
    expect(page.get_by_test_id("frame_no")).to_have_value("")
    assert page.evaluate("document.querySelector('[data-testid=scanner-video]').srcObject") is None  # camera off


def test_without_a_camera_the_scan_says_so_and_typing_goes_on(page_for, chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    page = page_for(PHONE)  # Chromium without a camera, and no permission to use one
    _log_in(page, dealer.username)
    page.goto("/dealer/sales/new/")

    page.get_by_test_id("scan-frame_no").click()

    message = page.get_by_test_id("scan-message")
    expect(message).to_be_visible(timeout=READ)
    expect(message).to_contain_text("摄像头")
    expect(page.get_by_test_id("scanner")).not_to_be_visible()
    expect(page.get_by_test_id("frame_no")).to_be_focused()
    screenshot(page, "scan-no-camera-phone")
    page.get_by_test_id("frame_no").fill(vehicle.frame_no)
    page.get_by_test_id("battery_serials").fill(battery.serial)
    expect(page.get_by_test_id("pair-check")).to_have_attribute("data-ready", "true")


def test_a_camera_refused_to_the_site_is_explained_and_typing_goes_on(camera_page, chain, live_server):
    vehicle = chain.vehicle()
    page = camera_page(f"{live_server.url}/v/{vehicle.code}", allowed=False)
    _log_in(page, chain.world.dealer.username)
    page.goto("/dealer/receive/")

    page.get_by_test_id("scan-codes").tap()

    expect(page.get_by_test_id("scan-message")).to_contain_text("允许本网站使用摄像头", timeout=READ)
    expect(page.get_by_test_id("codes")).to_have_value("")
    page.get_by_test_id("supplier").select_option(str(chain.maker.organization_id))
    page.get_by_test_id("codes").fill(vehicle.frame_no)
    expect(page.get_by_test_id(f"check-{vehicle.frame_no}")).to_have_attribute("data-verdict", "accepted")


def test_pages_without_scan_fields_load_no_reader(page_for, chain):
    page = page_for(PHONE)
    _log_in(page, chain.world.dealer.username)
    page.goto("/dealer/stock/")
    scripts = page.evaluate("[...document.scripts].map(s => s.src)")
    assert not any("scanner" in s or "zxing" in s for s in scripts)
    page.goto("/dealer/sales/new/")
    scripts = page.evaluate("[...document.scripts].map(s => s.src)")
    assert any(s.endswith("/js/scanner.js") for s in scripts)
    assert not any("zxing" in s for s in scripts)  # the reading library comes with the first tap on Scan
