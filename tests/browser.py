"""Helpers for driving Plotly charts in Chromium (imported by the browser tests)."""
from __future__ import annotations


def point_centre(page, chart_index: int = 0, point_index: int = -1) -> tuple[float, float]:
    block = page.locator(".chart-block").nth(chart_index)
    points = block.locator(".scatterlayer .trace .points path")
    points.first.wait_for()
    block.locator(".main-svg").first.scroll_into_view_if_needed()  # mouse events need it on screen
    n = points.count()
    box = points.nth(point_index % n).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def click_point(page, chart_index: int = 0, point_index: int = -1) -> None:
    # Plotly's drag layer lies over the points and does its own hit-testing, so the mouse
    # must move onto the point (a hover) before the click, at the point's coordinates.
    x, y = point_centre(page, chart_index, point_index)
    page.mouse.move(x, y)
    page.wait_for_timeout(250)
    page.mouse.click(x, y)


def drag_across(page, chart_index: int, x_from: float, x_to: float) -> None:
    """Drag horizontally across a chart's plot area, from and to fractions of its width."""
    area = page.locator(".chart-block").nth(chart_index).locator(".nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * x_from, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (x_from + x_to) / 2, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * x_to, y, steps=5)
    page.mouse.up()
