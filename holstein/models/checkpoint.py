"""Reading a model checkpoint (``best.pt``, ``last.pt`` written by :func:`holstein.train.train`).

A checkpoint is a dict: the registered model name and config, the weights (with the normalisation
buffers), what it was trained on (``params``, dataset sha256 and L, ``kT_range``, ``kT_trained``)
and the training state. Reading one needs only the model registry, not the training code.
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import build
from .base import ForceModel

__all__ = ["load_checkpoint", "load_model"]


def load_checkpoint(path, device: str = "cpu", dataset=None) -> tuple[ForceModel, dict]:
    """Rebuild a model from a checkpoint; returns (model in eval mode, checkpoint dict).

    Raises ValueError if the file is missing or not a checkpoint, if its weights do not fit
    the architecture it names, or if ``dataset`` (anything with a ``sha256``, e.g. a
    :class:`holstein.data.Dataset`) is given and is not the one it was trained on.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; train one with `python -m holstein train`")
    try:
        ck = torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(ck, dict) or "model" not in ck or "state_dict" not in ck:
        raise ValueError(f"{path} is not a holstein model checkpoint")
    try:
        model = build(ck["model"], **dict(ck["model_config"]))
    except TypeError as e:
        raise ValueError(f"{path} says it holds a {ck['model']!r} model, but its stored config does not fit that "
                         f"model ({e}); the checkpoint was relabelled or belongs to another model") from None
    try:
        model.load_state_dict(ck["state_dict"])
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit a {ck['model']!r} model with config {ck['model_config']} "
                         f"({str(e).splitlines()[0]})") from e
    dtype = next(iter(ck["state_dict"].values())).dtype
    model = model.to(device=device, dtype=dtype if dtype.is_floating_point else torch.float64).eval()
    if dataset is not None and ck.get("dataset_sha256") != dataset.sha256:
        raise ValueError(f"{path} was trained on dataset {str(ck.get('dataset_sha256'))[:12]}…, "
                         f"not on {dataset.sha256[:12]}…")
    return model, ck


def load_model(path, device: str = "cpu") -> ForceModel:
    """Just the model of :func:`load_checkpoint`."""
    return load_checkpoint(path, device=device)[0]
