"""Assisterr small language models for LlamaIndex: ``from llama_index_assisterr import Assisterr``.

Importing this package loads llama-index-core and the sync client only; ``aiohttp`` is
imported on the first async call.
"""

from assisterr_core import Llama3Template, transcript_template

from .base import Assisterr

__all__ = ["Assisterr", "Llama3Template", "transcript_template"]
