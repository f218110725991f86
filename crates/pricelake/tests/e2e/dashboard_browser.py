"""Drives the dashboard in headless Chromium (Debian's package, through Playwright's
client): opens it, changes the currency, checks that the plots and tables change, that no
text from the API ran as markup, that a value of the day without a rate says "no rate yet",
and saves a screenshot.

Usage: python dashboard_browser.py BASE_URL SCREENSHOT_PATH
Prints one JSON line with what it saw; exits non-zero on the first failed check.
"""

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def panel_state(page, panel):
    """The chart's address, whether it rendered, and the table's text."""
    return page.evaluate(
        """(id) => {
            const p = document.getElementById(id);
            const img = p.querySelector('.plot img');
            return {
                src: img ? img.getAttribute('src') : null,
                loaded: !!img && img.complete && img.naturalWidth > 0,
                table: p.querySelector('.table').innerText,
            };
        }""",
        panel,
    )


def wait_loaded(page, panel):
    page.wait_for_function(
        """(id) => { const i = document.querySelector('#' + id + ' .plot img');
                     return i && i.complete && i.naturalWidth > 0; }""",
        arg=panel,
        timeout=20000,
    )


def main():
    base, screenshot = sys.argv[1], sys.argv[2]
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/", wait_until="networkidle")
        for panel in ("panel-vod", "panel-basket", "panel-discounts"):
            wait_loaded(page, panel)
        before = {panel: panel_state(page, panel) for panel in ("panel-vod", "panel-basket")}
        currencies = page.eval_on_selector_all("#currency option", "os => os.map(o => o.value)")
        current = page.eval_on_selector("#currency", "s => s.value")
        other = next(c for c in currencies if c != current)
        page.select_option("#currency", other)
        for panel in ("panel-vod", "panel-basket"):
            page.wait_for_function(
                """([id, cur]) => { const i = document.querySelector('#' + id + ' .plot img');
                                   return i && i.getAttribute('src').includes('currency=' + cur)
                                          && i.complete && i.naturalWidth > 0; }""",
                arg=[panel, other],
                timeout=20000,
            )
        page.wait_for_load_state("networkidle")
        after = {panel: panel_state(page, panel) for panel in ("panel-vod", "panel-basket")}
        for panel in before:
            assert after[panel]["loaded"], f"{panel} chart did not render after the change"
            assert before[panel]["src"] != after[panel]["src"], f"{panel} chart did not change"
            assert before[panel]["table"] != after[panel]["table"], f"{panel} table did not change"
            assert other in after[panel]["table"] or other in after[panel]["src"], panel
        xss = page.evaluate("() => window.__xss === undefined ? null : window.__xss")
        assert xss is None, f"API text ran as script: window.__xss = {xss}"
        # The FX panel always shows a pair, even with the base currency chosen.
        for cur in currencies:
            page.select_option("#currency", cur)
            page.wait_for_load_state("networkidle")
            fx_rows = page.eval_on_selector_all("#panel-fx .table tbody tr", "rs => rs.length")
            fx_text = page.inner_text("#panel-fx .table")
            assert fx_rows > 0 and "No data yet" not in fx_text, f"FX panel empty with {cur}"
        # Search for the item named like an attack: its name must show as text.
        page.fill("#item-search", "Blender")
        try:
            page.wait_for_function(
                "() => document.getElementById('item-results').innerText.includes('Blender')",
                timeout=20000,
            )
        except Exception:
            api = page.evaluate("() => fetch('/api/v1/items?q=Blender').then(r => r.text())")
            raise AssertionError(
                f"search results: {page.inner_text('#item-results')!r}; API: {api[:500]}"
            )
        text = page.inner_text("#item-results")
        assert "<script>" in text, f"the item named <script>... is shown as text: {text!r}"
        xss = page.evaluate("() => window.__xss === undefined ? null : window.__xss")
        assert xss is None, f"API text ran as script: window.__xss = {xss}"
        assert not errors, f"page errors: {errors}"
        page.screenshot(path=screenshot, full_page=True)
        # A value of the day fetched before any rate of the currency: null rate and price
        # (docs/data-model.md, vod_fx). Served as such, the table says so rather than a dash.
        no_rate = {"date": "2026-01-01", "item_id": 1, "name": "Kettle", "sale_price_usd": 10.0,
                   "currency": other, "rate": None, "price": None, "rate_time": None}
        page.route("**/api/v1/vod?*", lambda route: route.fulfill(
            json={"currency": other, "days": [no_rate]}))
        page.select_option("#currency", current)
        page.select_option("#currency", other)
        page.wait_for_function(
            "() => document.querySelector('#panel-vod .table').innerText.includes('Kettle')",
            timeout=20000,
        )
        cells = page.eval_on_selector_all(
            "#panel-vod .table tbody td", "tds => tds.map(td => td.textContent)")
        assert cells.count("no rate yet") == 2, f"value of the day without a rate: {cells}"
        page.unroute("**/api/v1/vod?*")
        assert not errors, f"page errors: {errors}"
        seen = {
            "from": current,
            "to": other,
            "vod_src_before": before["panel-vod"]["src"],
            "vod_src_after": after["panel-vod"]["src"],
            "script_text_shown": True,
            "no_rate_yet_shown": True,
        }
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
