"""The administrator's pages speak Chinese too: every model and app in Django admin has a translated name."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_admin_model_and_app_has_a_chinese_name():
    with translation.override("zh-hans"):
        untranslated = [
            f"{model._meta.label}: {model._meta.verbose_name} / {model._meta.verbose_name_plural}"
            for model in admin.site._registry
            if not (CJK.search(str(model._meta.verbose_name)) and CJK.search(str(model._meta.verbose_name_plural)))
        ]
        untranslated += [
            config.label
            for config in apps.get_app_configs()
            if any(model._meta.app_label == config.label for model in admin.site._registry)
            and not CJK.search(str(config.verbose_name))
        ]
    assert untranslated == []


@pytest.mark.django_db
def test_the_admin_index_lists_them_in_chinese(world):
    client = Client()
    client.force_login(world.superuser)
    html = client.get("/admin/").content.decode()
    for name in ("幂等键", "待发事件消息", "Webhook 推送"):
        assert name in html
    assert "Webhook deliverys" not in html and "Idempotency keys" not in html
    assert Client().get("/admin/").status_code == 302  # the public is sent to log in
