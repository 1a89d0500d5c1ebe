"""Screenshot the HTML report of a demo shop, in Korean and English.

    python bench/screenshot_report.py                # docs/screenshots/report-{ko,en}.png
    python bench/screenshot_report.py --customers 20000 --keep reports/

Builds a demo workspace (``generate_shop``), collects the report once, renders it in both
languages and takes a full-page screenshot of each with Playwright for Python driving
Debian's Chromium (``/usr/bin/chromium``; ``playwright install`` is not needed). Needs
``apt-get install chromium fonts-nanum`` and ``pip install playwright pillow``. Network access
is blocked for the page, so the screenshot also proves the report loads nothing. The PNGs are
reduced to 256 colours (Pillow) to stay small enough for the repository.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Route, sync_playwright

from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.outputs.report import collect_report, render_report
from danggol.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def shrink(png: Path) -> None:
    """Re-save ``png`` with an adaptive 256-colour palette (a flat-colour page loses nothing
    visible; the file shrinks by about two thirds)."""
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(
            256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(png, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS px")
    parser.add_argument("--keep", type=Path, help="also keep the HTML reports in this folder")
    parser.add_argument("--executable", default=CHROMIUM)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="danggol-report-") as tmp:
        ws = Workspace.init(Path(tmp) / "shop", shop_name="당골 데모 상점")
        start = time.perf_counter()
        ingest_tables(ws, generate_shop(args.customers, seed=args.seed, end=args.as_of))
        loaded = time.perf_counter()
        data = collect_report(ws, args.as_of)
        collected = time.perf_counter()
        pages = {lang: render_report(data, lang) for lang in ("ko", "en")}
        rendered = time.perf_counter()
        ws.close()
        print(
            f"{args.customers:,} customers: load {loaded - start:.2f} s, "
            f"collect {collected - loaded:.2f} s, render ko+en {rendered - collected:.3f} s"
        )
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        args.out.mkdir(parents=True, exist_ok=True)
        blocked: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.executable, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})

            def block(route: Route) -> None:
                blocked.append(route.request.url)
                route.abort()

            page.route("http*://**", block)
            for lang, text in pages.items():
                html_file = folder / f"report-{lang}.html"
                html_file.write_text(text, encoding="utf-8")
                page.goto(html_file.as_uri())
                shot = args.out / f"report-{lang}.png"
                page.screenshot(path=str(shot), full_page=True)
                shrink(shot)
                size = page.evaluate("[document.body.scrollWidth, document.body.scrollHeight]")
                print(
                    f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: "
                    f"{size[0]}×{size[1]} px, {shot.stat().st_size / 1024:.0f} KiB, "
                    f"HTML {len(text.encode()) / 1024:.0f} KiB"
                )
            browser.close()
    if blocked:
        print(f"the report tried to load {len(blocked)} URL(s): {blocked[:5]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
