"""The page checks themselves: each fires on a page broken on purpose and stays quiet on a good one."""
import pytest

from checks import CHECKS, check_pages

PROSE = "<p>" + "The checkerboard domains coarsen after the quench, and their size grows as a power of time. " * 2 + "</p>"
IMG = '<div class="output"><img src="data:image/png;base64,iVBORw0KGgo=" style="width:{w}px;height:300px"></div>'


def page(tmp_path, name, body):
    html = f"""<html><body style="margin:0"><main><article class="bd-article" style="width:800px">{body}
    </article></main></body></html>"""
    path = tmp_path / f"{name}.html"
    path.write_text(html)
    return path.as_uri()


CASES = {
    "good": PROSE + IMG.format(w=700),
    "too_wide": PROSE + '<div style="overflow-x:auto"><table style="width:1400px"><tr><td>x</td></tr></table></div>',
    "stderr": PROSE + '<div class="output stderr"><pre>WARNING something</pre></div>',
    "traceback": PROSE + '<div class="output"><pre>Traceback (most recent call last):\n  File "x"</pre></div>',
    "paths": PROSE + "<p>written to /tmp/pytest-of-root/run3/x.npz</p>",
    "small_figure": PROSE + IMG.format(w=420),
    "empty_first_screen": '<pre>PROFILE = ...</pre>' * 1 + '<div style="height:900px"></div>' + PROSE,
}
EXPECT = dict(good=None, too_wide="too_wide", stderr="stderr", traceback="stderr", paths="paths",
              small_figure="small_figure", empty_first_screen="empty_first_screen")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    urls = {name: page(tmp, name, body) for name, body in CASES.items()}
    res = check_pages(list(urls.values()))
    return {name: res[url] for name, url in urls.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_each_check_fires_only_where_broken(results, name):
    found = {c for c in CHECKS if results[name][c]}
    want = {EXPECT[name]} - {None}
    assert found == want, results[name]
