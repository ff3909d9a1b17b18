"""Assisterr small language models for LlamaIndex: ``from llama_index_assisterr import Assisterr``.

Importing this package loads llama-index-core and the core's pure parts; each client is loaded
by its first call (``aiohttp`` by the first async one).
"""

from assisterr_core import Llama3Template, transcript_template
from assisterr_core.lazy import require_extra

require_extra("llama_index.core", package=__name__, distribution="llama-index-core",
              extra="llama-index")

from .base import Assisterr  # noqa: E402  (after the check: it imports llama-index-core)

__all__ = ["Assisterr", "Llama3Template", "transcript_template"]
