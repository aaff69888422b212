"""Movies for the static book: a matplotlib ``FuncAnimation`` and its self-contained HTML
(``to_jshtml``: every frame a PNG in the page, with play/pause buttons and a scrubber).

:func:`animate` draws frame ``k`` with any ``draw(axes, k)``; :func:`animate_fields` shows maps
``(T, L, L)`` on one colour scale, optionally beside a second panel; :func:`animation_html` embeds
either. Frames are few (:data:`MAX_FRAMES`, subsampled evenly; fewer where their PNGs would not fit
in :data:`EMBED_LIMIT_MB`) at :data:`DPI` and at most :data:`MAX_WIDTH_IN` wide by default (no wider
than the book's column).
"""
from __future__ import annotations

import io
import re

import numpy as np

from .plotting import _np, plot_field, plot_structure_factor

__all__ = ["MAX_FRAMES", "DPI", "MAX_WIDTH_IN", "EMBED_LIMIT_MB", "frame_indices", "animate", "animate_fields",
           "animation_html"]

MAX_FRAMES = 24  # frames of a movie of maps unless asked otherwise
DPI = 100  # dots per inch of a movie's frames unless asked otherwise
EMBED_LIMIT_MB = 4.0  # MB of embedded (base64) frames that animation_html accepts unless told otherwise
MAX_WIDTH_IN = 7.5  # the default figure width at most (inches): 750 px at DPI, the book's column
_TINY = 1e-300
_FRAME = re.compile(r'frames\[\d+\] = "data:image')  # one per embedded frame in to_jshtml


def frame_indices(n: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` indices into ``range(n)``, evenly spaced, first and last included."""
    if n < 1 or max_frames < 1:
        raise ValueError(f"need at least one frame and max_frames >= 1, got n={n}, max_frames={max_frames}")
    return np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int))


def _figure(ncols: int, figsize, dpi: int):
    """A row of ``ncols`` Axes; default size 4.6 × 3.9 in per panel, scaled down to :data:`MAX_WIDTH_IN`."""
    import matplotlib.pyplot as plt

    scale = min(1.0, MAX_WIDTH_IN / (4.6 * ncols))
    fig, axes = plt.subplots(1, ncols, figsize=figsize or (4.6 * ncols * scale, 3.9 * scale), dpi=dpi, squeeze=False)
    return fig, list(axes[0])


def _movie(fig, axes, update, n_frames: int, interval: int):
    from matplotlib.animation import FuncAnimation

    anim = FuncAnimation(fig, update, frames=n_frames, interval=interval, blit=False, repeat=True)
    anim.n_frames = n_frames  # what animation_html checks it embedded
    anim.panels = axes        # the Axes of the panels (not of the colorbars), to restyle
    return anim


def animate(draw, n_frames: int, ncols: int = 1, figsize=None, dpi: int = DPI, interval: int = 400):
    """A ``FuncAnimation`` of ``n_frames`` frames, frame ``k`` drawn by ``draw(axes, k)`` (setting its own
    labels) on the ``ncols`` cleared Axes of a ``figsize`` (inches; default 4.6 × 3.9 per panel, at most
    :data:`MAX_WIDTH_IN` wide) figure at ``dpi``; ``interval``: milliseconds per frame when playing."""
    n_frames = int(n_frames)
    if n_frames < 1:
        raise ValueError(f"an animation needs at least one frame, got {n_frames}")
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
                   max_frames: int = MAX_FRAMES, figsize=None, dpi: int = DPI, interval: int = 400,
                   budget_mb: float = EMBED_LIMIT_MB):
    r"""A movie of maps ``frames: (T, L, L)`` (e.g. φ_i(t)) at ``times: (T,)`` (ħ/t), on one symmetric
    colour scale ±``vmax`` (default max |frames|); ``title`` and ``extra_title`` are formatted with
    ``t`` (the time) and ``k`` (the frame). At most ``max_frames`` frames (:func:`frame_indices`), each
    ``figsize`` (inches, default as in :func:`animate`) at ``dpi``, and no more than fit in ``budget_mb``
    of embedded PNGs (:func:`animation_html`), the first frame's size (a quench's noisiest) taken ×1.25.

    ``extra``, an optional second panel, is a callable ``extra(ax, k)`` drawing frame k on a cleared
    Axes; or maps (T, M, M) in FFT order such as S(q, t), shown as log10 on one colour scale; or
    curves ``(x (n,), Y (T, n))`` on fixed log–log axes, e.g. S(|q|, t).
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
    im = plot_field(axes[0], F[idx[0]], label=label, cmap=cmap, vmax=vmax)
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
    idx = _fit_budget(fig, idx, budget_mb)
    return _movie(fig, axes, update, len(idx), interval)


def _fit_budget(fig, idx: np.ndarray, budget_mb: float) -> np.ndarray:
    """``idx`` thinned evenly (first and last kept) to the frames whose base64 PNGs, each taken 1.25 times
    the size of the one drawn now, fit in ``budget_mb``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    n = max(1, int(budget_mb * 2**20 // (1.25 * 4 / 3 * buf.tell())))
    return idx if len(idx) <= n else idx[frame_indices(len(idx), n)]


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
        ax.set(xlabel=r"$|\mathbf{q}|$ (1/lattice spacing)", ylabel=r"$S(|\mathbf{q}|)$")
        return line
    return None


def animation_html(anim, embed_limit_mb: float = EMBED_LIMIT_MB, close: bool = True):
    """``IPython.display.HTML`` of ``anim.to_jshtml()`` (works on a static page). A ValueError where the
    frames do not fit in ``embed_limit_mb`` (matplotlib would drop the rest silently); ``close``
    closes the figure so that the notebook does not also show it as a still image."""
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
