"""The LLM answerer: any OpenAI-compatible chat endpoint through langchain-openai, streamed.

It only phrases the answer. The verdict (match or no record) comes from the evidence gate, so text
inside a document cannot turn a "no" into a "yes"; the model sees sources as delimited data, and
its citations are checked afterwards like any other.
"""

from __future__ import annotations

from typing import Iterator

from assistant import prompts
from assistant.models import Source


class LLMError(RuntimeError):
    pass


def make_chat_model(settings):
    from langchain_openai import ChatOpenAI

    # Explicit timeout and retries: the openai client defaults (600 s, 2 retries) can block for half an hour.
    return ChatOpenAI(model=settings.llm_model, base_url=settings.openai_base_url,
                      api_key=settings.openai_api_key or "not-needed", timeout=settings.llm_timeout,
                      max_retries=settings.llm_retries, temperature=0, streaming=True)


def format_sources(sources: list[Source]) -> str:
    blocks = []
    for i, s in enumerate(sources, 1):
        d = s.document
        head = " | ".join(filter(None, [d.project or d.title, d.client, d.date, d.source, s.chunk.location]))
        text = s.chunk.text.replace("<<<", "").replace(">>>", "")
        blocks.append(f"[{i}] {head}\n<<<\n{text}\n>>>")
    return "\n\n".join(blocks)


class LLMAnswerer:
    def __init__(self, settings):
        self.settings = settings
        self.model = make_chat_model(settings)

    def stream(self, question: str, sources: list[Source]) -> Iterator[str]:
        from langchain_core.messages import HumanMessage, SystemMessage

        msgs = [SystemMessage(prompts.SYSTEM),
                HumanMessage(prompts.USER.format(question=question, sources=format_sources(sources)))]
        try:
            for chunk in self.model.stream(msgs):
                if chunk.content:
                    yield str(chunk.content)
        except Exception as e:  # network, timeout, HTTP error: the caller falls back
            raise LLMError(f"{type(e).__name__}: {str(e)[:200]}") from e

    def condense(self, question: str, history: list[str]) -> str:
        from langchain_core.messages import HumanMessage

        try:
            out = self.model.invoke([HumanMessage(prompts.CONDENSE.format(history="\n".join(history), question=question))])
            text = str(out.content).strip().splitlines()[0].strip() if out.content else ""
            return text or question
        except Exception as e:
            raise LLMError(f"{type(e).__name__}: {str(e)[:200]}") from e

    def ping(self) -> tuple[bool, str]:
        """Whether the endpoint answers (lists models; cheap and needs no generation)."""
        import openai

        try:
            client = openai.OpenAI(base_url=self.settings.openai_base_url, api_key=self.settings.openai_api_key or "not-needed",
                                   timeout=min(self.settings.llm_timeout, 5.0), max_retries=0)
            client.models.list()
            return True, "reachable"
        except Exception as e:
            return False, f"{type(e).__name__}: {str(e)[:160]}"
