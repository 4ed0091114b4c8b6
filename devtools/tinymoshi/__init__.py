"""A tiny, random-weights PersonaPlex/moshi upstream for tests and demos, on CPU and offline.

:func:`build_tiny_model` makes the files (cached), :class:`TinyMoshiServer` runs the real
``moshi.server`` on them in a subprocess.
"""

from devtools.tinymoshi.build import TinyModel, build_tiny_model, default_data_dir
from devtools.tinymoshi.runner import TinyMoshiServer, UpstreamStartError, free_port

__all__ = [
    "TinyModel",
    "TinyMoshiServer",
    "UpstreamStartError",
    "build_tiny_model",
    "default_data_dir",
    "free_port",
]
