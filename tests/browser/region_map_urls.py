"""A URL conf for the browser tests of the charts: the platform's routes plus one page that includes the district
map (templates/reports/_region_map.html) and a bar chart (_chart.html) with sample figures of 德州."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as platform_urlpatterns
from reports.maps import MapRegion, region_map_chart

# 德州's eleven districts, coloured in turn red, orange, yellow, green; 乐陵市 and 禹城市 not graded yet.
DEZHOU = [
    ("371402", "德城区", "red", 42.5, (17, 40)),
    ("371403", "陵城区", "orange", 25.0, (5, 20)),
    ("371422", "宁津县", "yellow", 12.5, (2, 16)),
    ("371423", "庆云县", "green", 0.0, (0, 9)),
    ("371424", "临邑县", "red", 33.3, (4, 12)),
    ("371425", "齐河县", "orange", 20.0, (3, 15)),
    ("371426", "平原县", "yellow", 10.0, (1, 10)),
    ("371427", "夏津县", "green", 5.0, (1, 20)),
    ("371428", "武城县", "green", 0.0, (0, 7)),
]
PAGE = """{% extends "base.html" %}{% block layout %}desktop{% endblock %}{% block content %}
<h1>德州市</h1>
{% include "reports/_region_map.html" %}
{% include "reports/_chart.html" %}
{% endblock %}"""


@login_required
def sample_page(request):
    region_map = region_map_chart(
        region_code="371400",
        regions=[MapRegion(code, name, colour, value, figures) for code, name, colour, value, figures in DEZHOU],
        value_label="风险企业占比 (%)",
        columns=["风险企业", "企业"],
        caption="德州市各区县风险等级",
    )
    chart = {
        "id": "sales-trend",
        "kind": "bar",
        "caption": "每月销售",
        "categoryLabel": "月份",
        "categories": ["2026-01", "2026-02", "2026-03"],
        "series": [{"name": "销售", "values": [1234, 1500, 980]}, {"name": "维修", "values": [300, 250, 410]}],
        "unit": "辆",
    }
    html = engines["django"].from_string(PAGE).render({"region_map": region_map, "chart": chart}, request)
    return HttpResponse(html)


urlpatterns = [*platform_urlpatterns, path("test/region-map/", sample_page)]
