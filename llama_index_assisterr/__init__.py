"""Assisterr small language models for LlamaIndex: ``from llama_index_assisterr import Assisterr``.

Importing this package loads llama-index-core and the core's pure parts; each client is loaded
by its first call (``aiohttp`` by the first async one).
"""

from assisterr_core import Llama3Template, transcript_template

from .base import Assisterr

__all__ = ["Assisterr", "Llama3Template", "transcript_template"]
