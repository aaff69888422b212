"""Page checks of the built book in a real browser (headless Chromium driven by Playwright).

Every page of ``_build/html`` is opened at 1280 × 800 px, as a student reads it, and checked for

* ``too_wide``: an element (table, code, output, figure) wider than the content column, or
  scrolling sideways inside it (a clipped table counts: a reader cannot see it at once);
* ``stderr``: an output block of stderr or a traceback;
* ``paths``: an absolute path of the build machine (a temporary or home directory) in the text;
* ``small_figure``: a figure rendered narrower than 500 px where it is the only one in its row;
* ``empty_first_screen``: a first screen (800 px) with neither a figure nor a paragraph of prose.

Chromium comes from the Debian packages (:func:`chromium`, installed with apt on first use when
run as root): Playwright's own browser download cannot be fetched on these machines.
MathJax comes from a CDN, so math is raw offline and is not checked.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

WIDTH, HEIGHT = 1280, 800
MIN_FIGURE_PX = 500
#: absolute paths of a build machine that must not reach a page
PATH_PATTERN = r"(/tmp/|/root/|/home/[a-z]|/work/|/private/var/|C:\\\\Users)"
CHECKS = ("too_wide", "stderr", "paths", "small_figure", "empty_first_screen")

_JS = r"""
([minFig, pathPattern, height]) => {
  const out = {too_wide: [], stderr: [], paths: [], small_figure: [], empty_first_screen: []};
  const main = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const box = main.getBoundingClientRect();
  const right = box.left + main.clientWidth + 1;
  const describe = (el) => {
    const t = (el.innerText || el.alt || el.src || '').trim().replace(/\s+/g, ' ');
    return el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')
      + ': ' + t.slice(0, 80);
  };
  for (const el of main.querySelectorAll('table, pre, img, svg, .cell_output, .output, div.highlight, .math, iframe, video')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || el.closest('details:not([open])') || el.closest('.toggle-hidden, .dropdown:not(.open)')) continue;
    if (r.right > right + 1 || el.scrollWidth > el.clientWidth + 2) {
      out.too_wide.push(`${describe(el)} (${Math.round(Math.max(r.right - box.left, el.scrollWidth))} px > ${main.clientWidth} px)`);
    }
  }
  for (const el of main.querySelectorAll('.stderr, .output.traceback, .output_stderr, [data-mime-type="application/vnd.jupyter.stderr"]')) {
    out.stderr.push(describe(el));
  }
  for (const el of main.querySelectorAll('pre, .output')) {
    if ((el.innerText || '').includes('Traceback (most recent call last)')) out.stderr.push('traceback: ' + describe(el));
  }
  const re = new RegExp(pathPattern);
  const text = main.innerText || '';
  const m = text.match(new RegExp('.{0,40}' + pathPattern + '.{0,40}', 'g'));
  if (m) out.paths.push(...m.slice(0, 5));
  for (const img of main.querySelectorAll('.cell_output img, figure img, .output img')) {
    const r = img.getBoundingClientRect();
    if (r.width === 0) continue;
    const row = img.closest('.output, .cell_output, figure') || img.parentElement;
    const alone = row.querySelectorAll('img').length === 1;
    if (alone && r.width < minFig) out.small_figure.push(`${describe(img)} (${Math.round(r.width)} px)`);
  }
  const first = box.top + window.scrollY + height;
  let seen = false;
  for (const el of main.querySelectorAll('img, svg, p, li')) {
    const r = el.getBoundingClientRect();
    if (r.top + window.scrollY > first || r.height === 0) continue;
    if (el.tagName === 'IMG' || el.tagName === 'svg' || (el.innerText || '').trim().length >= 80) { seen = true; break; }
  }
  if (!seen) out.empty_first_screen.push('no figure and no paragraph of prose in the first ' + height + ' px');
  return out;
}
"""


def chromium() -> str:
    """The Chromium executable: ``$CHROMIUM``, or on the PATH, else installed from the Debian
    packages (as root; ``apt-get update`` first)."""
    for cand in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    if os.geteuid() != 0:
        raise RuntimeError("Chromium is missing: install it with `apt-get install chromium` (as root), or set $CHROMIUM")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("chromium")


def check_pages(urls, browser=None) -> dict:
    """``{url: {check: [problems]}}`` for every page (file:// or http://) in ``urls``."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        b = browser or pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = b.new_page(viewport=dict(width=WIDTH, height=HEIGHT))
        for url in urls:
            page.goto(url, wait_until="load")
            out[url] = page.evaluate(_JS, [MIN_FIGURE_PX, PATH_PATTERN, HEIGHT])
        b.close()
    return out


def book_pages(root="_build/html") -> list[Path]:
    """The chapter pages of a built book (not the search, index and genindex pages, nor the root
    ``index.html``, which only redirects to the first chapter)."""
    root = Path(root)
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    index = root / "index.html"
    if index.exists() and 'http-equiv="refresh"' in index.read_text().lower():
        skip.add("index.html")
    return sorted(p for p in root.rglob("*.html") if p.name not in skip and "_static" not in p.parts
                  and "_sources" not in p.parts and "_images" not in p.parts)
