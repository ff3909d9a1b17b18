"""``from llama_index.llms.assisterr import Assisterr``: LlamaIndex's import path for the LLM.

The same objects as ``llama_index_assisterr``. ``llama_index`` and ``llama_index.llms`` are
namespace packages shared by every LlamaIndex distribution: nothing here may add an
``__init__.py`` to them.
"""

from llama_index_assisterr import Assisterr, Llama3Template, transcript_template

__all__ = ["Assisterr", "Llama3Template", "transcript_template"]
