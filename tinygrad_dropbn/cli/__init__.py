"""The command line, ``tinygrad-dropbn`` (or ``python -m tinygrad_dropbn``).

:mod:`.main` parses options and runs the subcommands; :mod:`.models` describes a run (its
config, data and model) and reloads one from its folder; :mod:`.train` trains and keeps the run
folder; :mod:`.report` shows progress and draws curves, boundaries and graphs. Training and
measuring go through :func:`tinygrad_dropbn.training.fit` and ``evaluate``, as the lab's do.
"""
from .main import main

__all__ = ["main"]
