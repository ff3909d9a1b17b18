"""The local server playing a model: it reads the instructions a query carries (the core's tool
and JSON instructions, LlamaIndex's ReAct format) and answers as a model following them would.

No model runs here, and nothing is tuned to a particular prompt: tools are chosen and
arguments filled from the words of the question (:mod:`.question`, :mod:`.schema_filler`).
"""

from .react_player import play as play_react
from .tool_player import choose_tool, instance_of
from .tool_player import play as play_tools

__all__ = ["choose_tool", "instance_of", "play_react", "play_tools"]
