"""charts.js with the vendored ECharts in real Chromium, on a static German page written
by the {% chart %} tag: every kind draws something, numbers follow the page language, a
click drills down, and a chart without data shows its empty text. No server involved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.template import Context, Template
from playwright.sync_api import Browser, Page, expect

import casework.web
from casework.web.charts import bar_chart, histogram, line_chart, pie_chart, sankey

pytestmark = [pytest.mark.browser]

STATIC = Path(casework.web.__file__).resolve().parent / "static" / "web"

DAYS = ["Mo", "Di", "Mi", "Do", "Fr"]
SPECS = {
    "line": line_chart(
        "Offene Vorgänge",
        DAYS,
        {"E-Mail": [12, 15, None, 9, 1234.5], "Telefon": [3, 4, 5, 6, 7]},
        y_label="Vorgänge",
        links=[f"#drill-{index}" for index in range(len(DAYS))],
    ),
    "bar": bar_chart(
        "Servicelevel </script><b>je Team</b>", ["A", "B"], {"SL": [0.125, 0.9]}, "percent"
    ),
    "stacked": bar_chart(
        "Eingang", DAYS, {"E-Mail": [1, 2, 3, 4, 5], "Chat": [5, 4, 3, 2, 1]}, stacked=True
    ),
    "histogram": histogram(
        "Bearbeitungszeit", [5, 30, 65, 70, 200, 400, 900], [0, 60, 120, 300, 600], "seconds"
    ),
    "sankey": sankey(
        "Kontaktwege",
        [
            ("1 · E-Mail", "2 · Telefon", 12),
            ("1 · E-Mail", "2 · Chat", 5),
            ("2 · Telefon", "3 · E-Mail", 4),
        ],
    ),
    "pie": pie_chart("Kanäle", ["E-Mail", "Telefon", "Chat"], [50, 30, 20]),
    "empty": line_chart("Rückstau", DAYS, {"Offen": [None] * len(DAYS)}),
}
EMPTY_TEXT = "Keine Daten für diesen Zeitraum"


def write_page(directory: Path) -> Path:
    template = Template(
        "{% load charts %}"
        "{% for key, spec in specs %}<section id='{{ key }}'>"
        "{% chart spec empty_text=empty_text %}</section>{% endfor %}"
    )
    body = template.render(Context({"specs": SPECS.items(), "empty_text": EMPTY_TEXT}))
    page = directory / "charts.html"
    page.write_text(
        "<!doctype html>\n"
        '<html lang="de"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{(STATIC / "charts.css").as_uri()}">'
        f'<script src="{(STATIC / "vendor/echarts/echarts.min.js").as_uri()}" defer></script>'
        f'<script src="{(STATIC / "charts.js").as_uri()}" defer></script>'
        f'</head><body style="width: 760px">{body}</body></html>',
        encoding="utf-8",
    )
    return page


@pytest.fixture(scope="module")
def chart_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(tmp_path_factory.mktemp("charts"))


@contextmanager
def open_charts(browser: Browser, path: Path) -> Iterator[Page]:
    """The page with every chart drawn; fails on any script error on the page."""
    context = browser.new_context(
        viewport={"width": 800, "height": 900}, locale="de-DE", reduced_motion="reduce"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(path.as_uri())
    page.wait_for_function(
        "document.querySelectorAll('[data-chart]:not([data-chart-rendered=\"true\"])').length === 0"
    )
    yield page
    assert errors == []
    context.close()


@pytest.fixture(scope="module")
def page(browser: Browser, chart_page: Path) -> Iterator[Page]:
    """Shared by the tests that only look; loading ECharts takes most of a second."""
    with open_charts(browser, chart_page) as page:
        yield page


@pytest.fixture
def own_page(browser: Browser, chart_page: Path) -> Iterator[Page]:
    """For a test that resizes or navigates."""
    with open_charts(browser, chart_page) as page:
        yield page


# Pixels of the canvas that are drawn on (ECharts leaves the background transparent).
INKED_PIXELS = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return inked;
}"""


@pytest.mark.parametrize("key", ["line", "bar", "stacked", "histogram", "sankey", "pie"])
def test_every_kind_draws_on_a_canvas_labelled_by_its_title(page: Page, key: str):
    chart = page.locator(f"#{key} [data-chart]")
    expect(chart).to_have_attribute("data-chart-rendered", "true")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_attribute("aria-label", str(SPECS[key]["title"]))
    canvas = chart.locator("canvas")
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    assert canvas.evaluate(INKED_PIXELS) > 2000


def test_a_title_with_markup_stays_text(page: Page):
    assert page.locator("#bar b").count() == 0
    assert page.locator("#bar script").count() == 1


def test_numbers_follow_the_german_page(page: Page):
    def shown(value: float, unit: str) -> str:
        text = page.evaluate("([v, u]) => CaseworkCharts.formatValue(v, u)", [value, unit])
        return text.replace("\u00a0", " ")

    assert shown(1234.5, "count") == "1.234,5"
    assert shown(0.125, "percent") == "12,5 %"
    assert shown(45, "seconds") == "45 s"
    assert shown(65, "seconds") == "1 min 5 s"
    assert shown(3900, "seconds") == "1 h 5 min"
    assert shown(2.5, "minutes") == "2 min 30 s"
    labels = page.evaluate(
        "() => echarts.getInstanceByDom("
        "document.querySelector('#histogram .chart-canvas')).getOption().xAxis[0].data"
    )
    assert labels == ["0 s–1 min", "1 min–2 min", "2 min–5 min", "5 min–10 min", "≥ 10 min"]


def test_a_chart_without_data_shows_the_empty_text(page: Page):
    chart = page.locator("#empty [data-chart]")
    expect(chart).to_have_attribute("data-chart-rendered", "true")
    expect(chart.locator(".chart-empty")).to_contain_text(EMPTY_TEXT)
    expect(chart.locator("canvas")).to_have_count(0)


def test_resizing_the_window_resizes_the_charts(own_page: Page):
    page = own_page
    canvas = page.locator("#bar canvas")
    before = canvas.bounding_box()
    page.evaluate("document.body.style.width = '500px'")
    page.set_viewport_size({"width": 700, "height": 900})
    page.wait_for_function("document.querySelector('#bar canvas').clientWidth < 600")
    after = canvas.bounding_box()
    assert before is not None and after is not None and after["width"] < before["width"]


def test_clicking_a_point_opens_its_drill_down_link(own_page: Page):
    page = own_page
    point = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#line .chart-canvas'))"
        ".convertToPixel({seriesIndex: 1}, [1, 4])"
    )
    page.locator("#line .chart-canvas canvas").click(position={"x": point[0], "y": point[1]})
    page.wait_for_function("window.location.hash === '#drill-1'")
    assert page.evaluate("window.location.hash") == "#drill-1"


def test_a_chart_swapped_in_by_htmx_is_drawn(own_page: Page):
    html = Template("{% load charts %}{% chart spec %}").render(
        Context({"spec": bar_chart("Nachgeladen", ["A"], {"n": [3]})})
    )
    own_page.evaluate(
        """html => {
          const target = document.querySelector('#bar');
          target.innerHTML = html;
          target.dispatchEvent(new CustomEvent('htmx:afterSwap', {bubbles: true}));
        }""",
        html,
    )
    chart = own_page.locator("#bar [data-chart]")
    expect(chart).to_have_attribute("data-chart-rendered", "true")
    expect(chart).to_have_attribute("aria-label", "Nachgeladen")
    assert chart.locator("canvas").evaluate(INKED_PIXELS) > 2000


def test_a_drill_down_link_to_a_script_is_not_followed(own_page: Page):
    spec = bar_chart("Unsicher", ["A"], {"n": [3]}, links=["javascript:window.followed=1"])
    html = Template("{% load charts %}{% chart spec %}").render(Context({"spec": spec}))
    own_page.evaluate(
        """html => {
          document.querySelector('#bar').innerHTML = html;
          CaseworkCharts.render(document);
        }""",
        html,
    )
    canvas = own_page.locator("#bar canvas")
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] * 0.8})
    own_page.wait_for_timeout(100)
    assert own_page.evaluate("window.followed") is None
