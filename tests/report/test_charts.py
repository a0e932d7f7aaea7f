"""The SVG charts of the runs report (``nb2prod.report.charts``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from nb2prod.report.charts import Point, chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_one_circle_per_point_each_with_its_tooltip_and_link() -> None:
    points = [Point(x, x * 2.0, (f"run {x}",), f"#run-{x}") for x in (1, 2, 3)]
    root = parse(chart(points, x_label="n", y_label="score", x_kind="number"))
    circles = root.findall(f".//{SVG}circle")
    assert len(circles) == 3
    assert [c.find(f"{SVG}title").text for c in circles] == ["run 1", "run 2", "run 3"]
    assert [a.get("href") for a in root.findall(f".//{SVG}a")] == ["#run-1", "#run-2", "#run-3"]


def test_higher_values_are_drawn_higher_and_larger_x_further_right() -> None:
    root = parse(chart([Point(1, 1.0, ("a",)), Point(5, 9.0, ("b",))], x_label="x", y_label="y", x_kind="number"))
    low, high = root.findall(f".//{SVG}circle")
    assert float(high.get("cx")) > float(low.get("cx"))
    assert float(high.get("cy")) < float(low.get("cy"))  # SVG's y grows downwards


def test_a_parameter_spanning_orders_of_magnitude_gets_a_log_axis() -> None:
    points = [Point(lr, 0.5, (str(lr),)) for lr in (0.001, 0.01, 0.1)]
    root = parse(chart(points, x_label="lr", y_label="acc", x_kind="number"))
    xs = [float(c.get("cx")) for c in root.findall(f".//{SVG}circle")]
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.2  # evenly spaced: logarithmic
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert {"0.001", "0.01", "0.1"} <= set(ticks)


def test_categories_in_natural_order_and_a_mean_line_for_repeated_values() -> None:
    points = [Point(m, y, (m,)) for m, y in (("tree", 1.0), ("forest", 2.0), ("forest", 4.0), ("tree", 3.0))]
    root = parse(chart(points, x_label="model", y_label="acc", x_kind="category"))
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert ticks[-2:] == ["forest", "tree"]
    assert len(root.find(f".//{SVG}polyline").get("points").split()) == 2


def test_a_single_value_still_draws_inside_the_plot() -> None:
    root = parse(chart([Point(3, 0.7, ("only",))], x_label="x", y_label="y", x_kind="number"))
    circle = root.find(f".//{SVG}circle")
    assert 0 < float(circle.get("cx")) < 420 and 0 < float(circle.get("cy")) < 250


def test_names_values_and_tooltips_are_escaped() -> None:
    evil = '<script>alert("x")</script>&'
    svg = chart([Point(evil, 1.0, (evil,), '#"><script>')], x_label=evil, y_label=evil, x_kind="category")
    assert "<script" not in svg
    root = parse(svg)  # still well-formed XML
    texts = [t.text for t in root.iter(f"{SVG}text")] + [root.find(f".//{SVG}title").text]
    assert any(text and text.startswith('<script>alert("x")') for text in texts)
    assert re.search(r'aria-label="&lt;script&gt;', svg)


def test_time_axis_labels_are_utc_times() -> None:
    points = [Point(1_764_324_000.0 + 60 * i, float(i), (str(i),)) for i in range(3)]  # 2025-11-28 10:00 UTC, a minute apart
    root = parse(chart(points, x_label="started", y_label="m", x_kind="time", connect=True))
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert any(re.fullmatch(r"10:0\d:\d\d", text) for text in ticks)
    assert len(root.find(f".//{SVG}polyline").get("points").split()) == 3
