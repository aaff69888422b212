"""holstein/animation.py: movies of fields and of parameter grids as self-contained HTML."""
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.display import HTML

from holstein import animation

FRAME = re.compile(r'frames\[\d+\] = "data:image/png;base64,')


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fields(T=5, L=6, seed=0):
    return np.random.default_rng(seed).normal(size=(T, L, L)), np.arange(T) * 0.05 * 20


def test_fields_movie_is_html_with_one_png_per_frame_and_the_time_in_the_title():
    F, t = _fields()
    assert 3 * 0.05 * 20 != 3  # float noise that a plain f"{t}" would print
    anim = animation.animate_fields(F, t)
    assert anim.panels[0].get_title() == "t = 0"  # the frame shown first
    anim._func(3)
    assert anim.panels[0].get_title() == "t = 3"
    im = anim.panels[0].images[0]
    assert np.allclose(im.get_array(), F[3].T) and im.get_clim() == (-np.abs(F).max(), np.abs(F).max())
    html = animation.animation_html(anim)
    assert isinstance(html, HTML) and "Animation(" in html.data and 'type="range"' in html.data
    assert len(FRAME.findall(html.data)) == 5 == anim.n_frames
    assert anim.panels[0].get_title() == "t = 4"  # the last frame rendered


def test_long_sequences_are_subsampled_keeping_first_and_last():
    assert list(animation.frame_indices(100, 4)) == [0, 33, 66, 99]
    assert list(animation.frame_indices(3, 24)) == [0, 1, 2]
    F, t = _fields(T=30)
    anim = animation.animate_fields(F, t, max_frames=7)
    assert anim.n_frames == 7
    anim._func(6)
    assert anim.panels[0].get_title() == f"t = {t[-1]:g}"


def test_second_panel_as_maps_curves_or_callable():
    F, t = _fields()
    S = np.abs(F) + 1e-3
    anim = animation.animate_fields(F, t, extra=S, extra_title="S(q), frame {k}")
    anim._func(2)
    assert np.allclose(anim.panels[1].images[0].get_array(), np.log10(S[2]).T)
    assert anim.panels[1].get_title() == "S(q), frame 2"
    x, Y = np.arange(1.0, 4.0), np.abs(F[:, 0, :3]) + 0.1
    anim = animation.animate_fields(F, t, extra=(x, Y))
    anim._func(4)
    assert np.allclose(anim.panels[1].get_lines()[0].get_ydata(), Y[4])
    assert anim.panels[1].get_xscale() == "log"
    seen = []
    anim = animation.animate_fields(F, t, extra=lambda ax, k: seen.append(k))
    anim._func(1)
    assert seen == [0, 1]


def test_animate_draws_each_frame_of_a_grid():
    grid = [(g, kT) for g in (1.0, 2.0) for kT in (0.1, 0.5)]

    def draw(axes, k):
        axes[0].plot([0, 1], [0, grid[k][0]])
        axes[0].set_title(f"g = {grid[k][0]:g}, kT = {grid[k][1]:g}")

    anim = animation.animate(draw, len(grid))
    html = animation.animation_html(anim).data
    assert len(FRAME.findall(html)) == 4
    assert anim.panels[0].get_title() == "g = 2, kT = 0.5"  # the last frame drawn


@pytest.mark.parametrize("frames, times, extra", [
    (np.zeros((4, 6)), np.arange(4), None),            # not (T, L, L)
    (np.zeros((4, 6, 6)), np.arange(3), None),         # times do not match
    (np.zeros((4, 6, 6)), np.arange(4), np.zeros((3, 6, 6))),  # extra maps do not match
    (np.zeros((4, 6, 6)), np.arange(4), (np.arange(3), np.zeros((4, 2)))),  # curves do not match
    (np.zeros((0, 6, 6)), np.arange(0), None),          # no frame
])
def test_bad_input_raises(frames, times, extra):
    with pytest.raises(ValueError):
        animation.animate_fields(frames, times, extra=extra)
    with pytest.raises(ValueError):
        animation.animate(lambda axes, k: None, 0)


def test_frames_that_do_not_fit_the_embed_limit_raise():
    F, t = _fields(T=6, L=32)
    with pytest.raises(ValueError, match="frames fit"):
        animation.animation_html(animation.animate_fields(F, t, dpi=150), embed_limit_mb=0.05)


@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")
def test_movies_are_100_dpi_and_no_wider_than_the_column():
    F, t = _fields()
    for anim in (animation.animate_fields(F, t, extra=np.abs(F) + 1e-3), animation.animate(lambda axes, k: None, 2)):
        fig = anim._fig
        assert fig.dpi == animation.DPI == 100 and fig.get_figwidth() * fig.dpi <= 752
    assert animation.animate(lambda axes, k: None, 1, figsize=(6.4, 3.6))._fig.get_size_inches().tolist() == [6.4, 3.6]


@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")
def test_a_worst_case_movie_fits_the_embed_limit_at_the_defaults():
    """200×200 white noise (incompressible, larger than any quench's maps) beside S(|q|) curves, 40 frames:
    the default movie keeps as many frames as fit in animation_html's default limit, first and last."""
    rng = np.random.default_rng(0)
    F, t = rng.normal(size=(40, 200, 200)), np.arange(40.0)
    k, Y = np.linspace(0.1, 3, 140), rng.uniform(0.1, 1, size=(40, 140))
    anim = animation.animate_fields(F, t, extra=(k, Y))
    assert 8 <= anim.n_frames <= animation.MAX_FRAMES
    html = animation.animation_html(anim).data  # raises if a frame had to be dropped
    assert len(FRAME.findall(html)) == anim.n_frames
    frames = sum(len(m) for m in re.findall(r'frames\[\d+\] = "(data:image[^"]*)"', html))
    assert frames < animation.EMBED_LIMIT_MB * 2**20
    assert anim.panels[0].get_title() == "t = 39"  # the last frame is kept
    few = animation.animate_fields(F, t, extra=(k, Y), budget_mb=0.8)
    assert 2 <= few.n_frames < anim.n_frames
