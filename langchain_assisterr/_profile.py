"""ChatAssisterr's model profile: what LangChain is told the SLM can do through it."""

from __future__ import annotations

from langchain_core.language_models import ModelProfile


def assisterr_profile() -> ModelProfile:
    """The capabilities, as they are: text in and out only; tools, tool choice and JSON
    answers by instructions in the query (``structured_output`` makes langchain's agents
    use a ``response_format``); no sampling controls. The API reports no token usage, for
    which the profile has no field: messages carry no ``usage_metadata``. The context window
    is not published: pass ``profile={..., "max_input_tokens": n}`` if you know it."""
    return ModelProfile(
        text_inputs=True,
        image_inputs=False,
        image_url_inputs=False,
        pdf_inputs=False,
        audio_inputs=False,
        video_inputs=False,
        image_tool_message=False,
        pdf_tool_message=False,
        attachment=False,
        text_outputs=True,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        reasoning_output=False,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,  # whole, in a stream's last chunk
        structured_output=True,
        mid_conversation_system_messages=False,  # system text is rendered first
        mid_conversation_tools=False,
        temperature=False,
    )
