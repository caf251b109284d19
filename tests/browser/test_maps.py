"""The /maps explorer in a real browser: DL vs RF, swipe, pixel inspector, twin view."""

from __future__ import annotations

import math
from pathlib import Path

from tests.conftest import browser_login
from tests.scenes import scene_dataset


def test_compare_dl_and_rf_maps(page, make_user, tmp_path: Path, screenshots: Path) -> None:  # noqa: ANN001
    data = scene_dataset(tmp_path / "synth")
    make_user("admin", "admin")
    browser_login(page, "admin")
    page.goto("/maps")
    page.wait_for_selector("#left-product option[value]:not([value=''])", state="attached")
    page.select_option("#left-product", label="U-BARN classes")
    page.select_option("#right-product", label="Random Forest classes")
    page.wait_for_function(
        "document.querySelectorAll('.class-tiles img.leaflet-tile-loaded').length >= 2"
    )
    legend = page.locator("#legend-left")
    assert "U-BARN classes" in legend.inner_text() and " ha" in legend.inner_text()

    # Drag the swipe divider from the middle to a third of the map.
    box = page.locator("#map-a").bounding_box()
    handle = page.locator(".swipe-divider .handle").bounding_box()
    before = page.eval_on_selector("#map-a .leaflet-right-pane", "el => el.style.clipPath")
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 3, handle["y"] + 5, steps=8)
    page.mouse.up()
    left = page.eval_on_selector(".swipe-divider", "el => parseFloat(el.style.left)")
    assert abs(left - box["width"] / 3) < 10
    assert page.eval_on_selector("#map-a .leaflet-right-pane", "el => el.style.clipPath") != before

    # Click a pixel right of the divider: both classes, confidence, reference, NDVI, patch link.
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("#inspector .inspect-class[data-side=right]")
    classes = page.locator("#inspector .inspect-class").all_inner_texts()
    assert len(classes) == 2 and all(
        ("Winter" in t or "Meadow" in t or "6 " in t or "13 " in t) for t in classes
    )
    assert "%" in classes[0]
    page.wait_for_selector("#inspector .ndvi-chart canvas")
    link = page.locator("#patch-link")
    assert link.get_attribute("href").startswith("/review?patch=")
    page.wait_for_function(
        "[...document.querySelectorAll('#map-a img.leaflet-tile')].every(i => i.complete)"
    )
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "maps.png"))

    # Zoomed in all the way, the class tiles are those of the first web zoom whose pixels
    # are at most 10 m on the ground here (the display copy's finest: no 10 m pixel skipped),
    # enlarged by Leaflet beyond it.
    south, north = page.request.get("/api/v1/maps").json()[0]["bounds"][1::2]
    equator_metres = 2 * math.pi * 6378137 / 256  # a z0 pixel of WebMercatorQuad
    ground = equator_metres * math.cos(math.radians((south + north) / 2))
    finest = math.ceil(math.log2(ground / 10))
    zoom_in = page.locator("#map-a .leaflet-control-zoom-in")
    while "leaflet-disabled" not in (zoom_in.get_attribute("class") or ""):  # up to maxZoom
        zoom_in.click()
        page.wait_for_timeout(300)
    page.wait_for_function(
        "[...document.querySelectorAll('#map-a .class-tiles img.leaflet-tile')]"
        ".some(i => i.complete && i.classList.contains('leaflet-tile-loaded'))"
    )
    sources = page.eval_on_selector_all(
        "#map-a .class-tiles img.leaflet-tile-loaded", "imgs => imgs.map(i => i.src)"
    )
    zooms = {int(src.split("/WebMercatorQuad/")[1].split("/")[0]) for src in sources}
    assert max(zooms) == finest and zooms <= set(range(finest + 1))

    # Side by side: a second synchronised map shows the right product.
    page.click("#mode-twin")
    page.wait_for_selector("#map-b .class-tiles img.leaflet-tile-loaded")
    assert page.locator("#map-b").is_visible()
    assert data["predicted"]["Random Forest"] > 0
