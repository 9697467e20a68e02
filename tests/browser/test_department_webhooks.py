"""A fire brigade's administrator, at a desk, subscribes to battery alerts with a webhook from the home page's
"Data feed" card: an internal address is refused next to the field, the signing secret is shown once, and the
delivery log shows the alert that reached the brigade's system."""

from playwright.sync_api import expect

from alerts.models import DepartmentSubscription, WebhookDelivery
from alerts.webhooks import webhooks_send_due
from core.models import OrganizationKind
from tests.alerts.conftest import drain, fit
from tests.alerts.test_webhooks import Endpoint
from tests.browser.conftest import DESKTOP, screenshot
from tests.chain import BUYER
from tests.conftest import _member, api_client
from tests.factories import PASSWORD


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_a_fire_brigade_subscribes_sees_the_secret_once_and_the_delivery_log(page_for, chain, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # the brigade's test system listens on this machine
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")
    vehicle, battery = chain.in_stock(chain.world.dealer)
    sale = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(chain.world.dealer).post("/api/v1/sales/", sale, format="json").status_code == 201

    with Endpoint() as system:
        desk = page_for(DESKTOP)
        _log_in(desk, fire.username)
        desk.locator('a[href="/alerts/subscriptions/"]').click()
        expect(desk.get_by_test_id("empty")).to_be_visible()
        desk.get_by_test_id("new-subscription").click()

        # An address inside the platform's network is refused, in Chinese, next to the field; the input stays.
        desk.get_by_test_id("category-battery").check()
        desk.get_by_test_id("webhook_url").fill("http://10.0.0.5/hooks/ebike")
        desk.get_by_test_id("subscription-submit").click()
        expect(desk.get_by_test_id("error-webhook_url")).to_contain_text("内网")
        expect(desk.get_by_test_id("category-battery")).to_be_checked()

        desk.get_by_test_id("webhook_url").fill(system.url)
        desk.get_by_test_id("subscription-submit").click()
        secret = desk.get_by_test_id("secret")
        expect(secret).to_be_visible()
        subscription = DepartmentSubscription.objects.get(organization=fire.organization)
        expect(secret).to_have_text(subscription.secret)
        expect(desk.get_by_test_id("subscription-url")).to_have_text(system.url)
        screenshot(desk, "department-webhook-secret-desktop")
        desk.reload()
        expect(desk.get_by_test_id("secret-box")).to_have_count(0)  # shown once

        # A battery swapped for a non-standard one raises an alert; the brigade's system receives it.
        fit(vehicle, chain.battery(model=chain.other_battery_model), shop)
        drain()
        assert webhooks_send_due() == 1 and len(system.requests) == 1

    desk.reload()
    delivery = WebhookDelivery.objects.get()
    row = desk.locator(f'[data-testid="delivery-row"][data-id="{delivery.pk}"]')
    expect(row).to_have_attribute("data-status", "delivered")
    expect(row.get_by_test_id("last-answer")).to_have_text("200")
    expect(row.get_by_test_id("attempts")).to_have_text("1 / 8")
    expect(desk.get_by_test_id("delivery-count")).to_have_attribute("data-count", "1")
    screenshot(desk, "department-webhook-deliveries-desktop")
