"""Movies for the static book: a sequence of frames as a matplotlib ``FuncAnimation`` and its
self-contained HTML (``to_jshtml``: every frame a PNG in the page, with play/pause buttons and a
scrubber), so that a page built once still lets a reader move through time or parameters.

- :func:`animate` draws frame ``k`` with any ``draw(axes, k)`` (e.g. a grid of parameters);
- :func:`animate_fields` shows 2D maps ``(T, L, L)`` (e.g. φ_i(t)) on one fixed colour scale,
  the time in the title, optionally next to a second panel per frame (e.g. S(q, t));
- :func:`animation_html` turns either into an ``IPython.display.HTML`` of bounded size.

Frames are few by default (:data:`MAX_FRAMES`; longer sequences are subsampled evenly, keeping the
first and last) and small (dpi 72), so that a movie stays well under a megabyte or two.
"""
from __future__ import annotations

import re

import numpy as np

from .plotting import _np, plot_field, plot_structure_factor

__all__ = ["MAX_FRAMES", "frame_indices", "animate", "animate_fields", "animation_html"]

MAX_FRAMES = 24  # frames of a movie unless asked otherwise
_TINY = 1e-300
_FRAME = re.compile(r'frames\[\d+\] = "data:image')  # one per embedded frame in to_jshtml


def frame_indices(n: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` indices into ``range(n)``, evenly spaced, first and last included."""
    if n < 1 or max_frames < 1:
        raise ValueError(f"need at least one frame and max_frames >= 1, got n={n}, max_frames={max_frames}")
    return np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int))


def _figure(ncols: int, figsize, dpi: int):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize or (4.6 * ncols, 3.9), dpi=dpi, squeeze=False)
    return fig, list(axes[0])


def _movie(fig, axes, update, n_frames: int, interval: int):
    from matplotlib.animation import FuncAnimation

    anim = FuncAnimation(fig, update, frames=n_frames, interval=interval, blit=False, repeat=True)
    anim.n_frames = n_frames  # what animation_html checks it embedded
    anim.panels = axes        # the Axes of the panels (not of the colorbars), to restyle
    return anim


def animate(draw, n_frames: int, ncols: int = 1, figsize=None, dpi: int = 72, interval: int = 400):
    """A ``FuncAnimation`` of ``n_frames`` frames; frame ``k`` is ``draw(axes, k)`` on cleared axes.

    ``draw(axes, k)``: draws frame k on the list of ``ncols`` Axes (side by side); it must set its
    own labels and title. Use it for frames that are not maps, e.g. one per point of a parameter
    grid. ``interval``: milliseconds per frame when playing.
    """
    n_frames = int(n_frames)
    if n_frames < 1:
        raise ValueError(f"an animation needs at least one frame, got {n_frames}")
    if not callable(draw):
        raise ValueError("draw must be a callable draw(axes, k)")
    fig, axes = _figure(ncols, figsize, dpi)

    def update(k):
        for ax in axes:
            ax.clear()
        draw(axes, k)
        fig.tight_layout()
        return []

    update(0)
    return _movie(fig, axes, update, n_frames, interval)


def animate_fields(frames, times, extra=None, title: str = "t = {t:g}", label: str = r"$\phi_i$",
                   cmap: str = "RdBu_r", vmax: float | None = None, extra_title: str | None = None,
                   max_frames: int = MAX_FRAMES, figsize=None, dpi: int = 72, interval: int = 400):
    r"""A movie of 2D maps ``frames[k]`` (e.g. φ_i(t) = (-1)^{x+y} Q_i(t)) with the time in the title.

    frames: (T, L, L), one map per recorded time (numpy or torch); times: (T,), in units of ħ/t
    (``step · dt``). Shown on one symmetric colour scale ±``vmax`` (default max |frames|) with
    colormap ``cmap`` and colorbar ``label``, so that growing domains keep their colours.
    ``title`` is formatted with ``t`` (the time) and ``k`` (the frame index).

    ``extra``, an optional second panel per frame, is one of
      - a callable ``extra(ax, k)`` drawing frame k on a cleared Axes (set its own labels);
      - an array (T, M, M): maps in FFT order such as S(q, t) from
        :func:`holstein.observables.structure_factor`, shown as log10 on one fixed colour scale;
      - a pair ``(x, Y)`` with x (n,) and Y (T, n): one curve per frame on log–log axes with fixed
        limits, e.g. the radially averaged S(|q|, t).
    ``extra_title`` titles that panel (formatted like ``title``).

    At most ``max_frames`` frames are shown (evenly subsampled, first and last kept; see
    :func:`frame_indices`). Raises ValueError for frames that are not (T, L, L), for times or
    ``extra`` that do not have T entries, and for a non-positive ``max_frames``.
    """
    F = _np(frames)
    t = _np(times).ravel()
    if F.ndim != 3:
        raise ValueError(f"frames must have shape (T, L, L), got {F.shape}")
    if t.shape[0] != F.shape[0]:
        raise ValueError(f"times has {t.shape[0]} entries for {F.shape[0]} frames")
    idx = frame_indices(F.shape[0], max_frames)
    kind, E = _extra_kind(extra, F.shape[0])
    fig, axes = _figure(1 if extra is None else 2, figsize, dpi)
    vmax = (float(np.max(np.abs(F))) or 1.0) if vmax is None else float(vmax)
    im = plot_field(axes[0], F[idx[0]], label=label, cmap=cmap)
    im.set_clim(-vmax, vmax)
    second = _init_extra(axes[1], kind, E, idx) if extra is not None else None

    def update(j):
        k = int(idx[j])
        im.set_data(F[k].T)
        axes[0].set_title(title.format(t=t[k], k=k))
        if kind == "callable":
            axes[1].clear()
            E(axes[1], k)
        elif kind == "map":
            second.set_data(np.log10(E[k] + _TINY).T)
        elif kind == "curve":
            second.set_ydata(E[1][k])
        if extra is not None and extra_title is not None:
            axes[1].set_title(extra_title.format(t=t[k], k=k))
        return []

    update(0)
    fig.tight_layout()
    return _movie(fig, axes, update, len(idx), interval)


def _extra_kind(extra, T: int):
    """("callable" | "map" | "curve" | None, the data) of the ``extra`` of :func:`animate_fields`."""
    if extra is None:
        return None, None
    if callable(extra):
        return "callable", extra
    if isinstance(extra, tuple) and len(extra) == 2:
        x, Y = _np(extra[0]).ravel(), _np(extra[1])
        if Y.ndim != 2 or Y.shape != (T, x.size):
            raise ValueError(f"extra curves (x, Y) need Y of shape (T={T}, {x.size}), got {Y.shape}")
        return "curve", (x, Y)
    S = _np(extra)
    if S.ndim != 3 or S.shape[0] != T or S.shape[1] != S.shape[2]:
        raise ValueError(f"extra maps must have shape (T={T}, M, M), got {S.shape}")
    return "map", S


def _init_extra(ax, kind: str, E, idx):
    """Draw the first frame of the second panel; return what the update changes."""
    if kind == "map":
        im = plot_structure_factor(ax, E[idx[0]], log=True)
        logs = np.log10(E[idx] + _TINY)
        im.set_clim(float(np.min(logs)), float(np.max(logs)))
        return im
    if kind == "curve":
        x, Y = E
        pos = Y[idx][Y[idx] > 0]
        (line,) = ax.loglog(x, np.where(Y[idx[0]] > 0, Y[idx[0]], np.nan), "o-", ms=3)
        if pos.size:
            ax.set_ylim(pos.min() / 1.5, pos.max() * 1.5)
        ax.set_xlabel(r"$|\mathbf{q}|$ (1/lattice spacing)")
        ax.set_ylabel(r"$S(|\mathbf{q}|)$")
        return line
    return None


def animation_html(anim, embed_limit_mb: float = 4.0, close: bool = True):
    """``IPython.display.HTML`` of ``anim.to_jshtml()``: the frames as PNGs in the page, a
    play/pause control and a frame slider; works on a static web page.

    Raises ValueError if the frames do not fit in ``embed_limit_mb`` megabytes (matplotlib would
    silently drop the rest): use fewer frames or a lower dpi. ``close`` closes the figure so that
    the notebook does not also show it as a still image.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    from IPython.display import HTML

    with mpl.rc_context({"animation.embed_limit": float(embed_limit_mb)}):
        html = anim.to_jshtml(default_mode="once")
    n_expected = getattr(anim, "n_frames", None)
    n_embedded = len(_FRAME.findall(html))
    if close:
        plt.close(anim._fig)
    if n_expected is not None and n_embedded < n_expected:
        raise ValueError(f"only {n_embedded} of {n_expected} frames fit in {embed_limit_mb} MB; "
                         "use fewer frames or a lower dpi")
    return HTML(html)
