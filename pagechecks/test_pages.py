"""Every page of the built book (``_build/html``, made by ``make book``) passes every page check."""
from pathlib import Path

import pytest

from checks import CHECKS, book_pages, check_pages

ROOT = Path(__file__).resolve().parents[1] / "_build" / "html"
PAGES = book_pages(ROOT) if ROOT.exists() else []


@pytest.fixture(scope="module")
def results():
    if not PAGES:
        pytest.fail(f"no built book at {ROOT}: run `make book` first")
    return check_pages([p.as_uri() for p in PAGES])


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("page", [p.relative_to(ROOT).as_posix() for p in PAGES] or ["<no book>"])
def test_page(results, page, check):
    problems = results[(ROOT / page).as_uri()][check]
    assert not problems, f"{page}: {check}: " + "; ".join(problems)
