"""One query from many messages: what turns a chat framework's conversation, tools and JSON
answers into the one query string the API takes, and reads the reply back. Pure code.

- :mod:`.prompt`: a conversation rendered into a query (a transcript, Llama-3 headers, yours);
- :mod:`.stop`: stop sequences, cut client-side (whole replies and streams);
- :mod:`.tool_calls`: tools offered as instructions, calls read back from the reply;
- :mod:`.json_answers`: a JSON answer asked for, and the one reader of JSON in a reply;
- :mod:`.caller_json`: a caller's values written as JSON into a query, refused if too deep;
- :mod:`.parameters`: other providers' sampling controls, accepted with a warning.
"""

from __future__ import annotations

from .caller_json import caller_json, check_nesting, read_arguments
from .json_answers import (
    JSON_OBJECT_PROMPT,
    JSON_PROMPT_TEMPLATE,
    NoJSONAnswerError,
    answer_problem,
    json_instructions,
    json_values,
    parse_json_answer,
    schema_problem,
)
from .parameters import (
    SAMPLING_PARAMETERS,
    IgnoredParameterWarning,
    sampling_arguments,
    unexpected_arguments,
    warn_ignored_at_caller,
    warn_ignored_parameters,
)
from .prompt import (
    TRANSCRIPT_HEADING,
    TRANSCRIPT_LABELS,
    ChatTurn,
    Llama3Template,
    QueryTemplate,
    latest_user_text,
    normalize_turns,
    render_query,
    session_query,
    transcript_template,
)
from .stop import StopSequenceCutter, acut_stream, cut_at_stop, cut_stream, stop_sequences
from .tool_calls import (
    NO_DESCRIPTION,
    TOOL_CALLS_SENTENCES,
    TOOL_CHOICE_SENTENCES,
    TOOL_LISTING,
    TOOL_PROMPT_TEMPLATE,
    InvalidToolCall,
    ToolCall,
    ToolReply,
    ToolSpec,
    parse_tool_reply,
    render_tool_calls,
    tool_choice_name,
    tool_instructions,
)

__all__ = [
    "JSON_OBJECT_PROMPT",
    "JSON_PROMPT_TEMPLATE",
    "NO_DESCRIPTION",
    "SAMPLING_PARAMETERS",
    "TOOL_CALLS_SENTENCES",
    "TOOL_CHOICE_SENTENCES",
    "TOOL_LISTING",
    "TOOL_PROMPT_TEMPLATE",
    "TRANSCRIPT_HEADING",
    "TRANSCRIPT_LABELS",
    "ChatTurn",
    "IgnoredParameterWarning",
    "InvalidToolCall",
    "Llama3Template",
    "NoJSONAnswerError",
    "QueryTemplate",
    "StopSequenceCutter",
    "ToolCall",
    "ToolReply",
    "ToolSpec",
    "acut_stream",
    "answer_problem",
    "caller_json",
    "check_nesting",
    "cut_at_stop",
    "cut_stream",
    "json_instructions",
    "json_values",
    "latest_user_text",
    "normalize_turns",
    "parse_json_answer",
    "parse_tool_reply",
    "read_arguments",
    "render_query",
    "render_tool_calls",
    "sampling_arguments",
    "schema_problem",
    "session_query",
    "stop_sequences",
    "tool_choice_name",
    "tool_instructions",
    "transcript_template",
    "unexpected_arguments",
    "warn_ignored_at_caller",
    "warn_ignored_parameters",
]
