"""The LLM answerer: any OpenAI-compatible chat endpoint through langchain-openai, streamed.

It only phrases the answer. The verdict (match or no record) comes from the evidence gate, so text
inside a document cannot turn a "no" into a "yes"; the model sees sources as delimited data, and
its citations are checked afterwards like any other.
"""

from __future__ import annotations

import re
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
                      max_retries=settings.llm_retries, max_tokens=settings.llm_max_tokens, temperature=0,
                      streaming=True)


def _attr(value: str) -> str:
    return value.replace('"', "'").replace("<", "").replace(">", "")


_TAG = re.compile(r"<\s*/?\s*source\b[^>]*>", re.I)


def format_sources(sources: list[Source]) -> str:
    """Sources as tagged blocks. Tags rather than "[n] header" lines: small models copy such lines
    into the answer, and a tag marks plainly where quoted document text (data, not instructions) ends."""
    blocks = []
    for i, s in enumerate(sources, 1):
        d = s.document
        attrs = [("id", str(i)), ("project", d.project or d.title), ("client", d.client), ("date", d.date),
                 ("file", d.source), ("section", s.chunk.location)]
        head = " ".join(f'{k}="{_attr(v)}"' for k, v in attrs if v)
        blocks.append(f"<source {head}>\n{_TAG.sub('', s.chunk.text).strip()}\n</source>")
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
        """Whether the endpoint answers. Lists models (cheap, no generation; OpenAI, vLLM, Ollama and
        llama.cpp all serve it); a server without that route is asked for a one-token completion."""
        import openai

        try:
            client = openai.OpenAI(base_url=self.settings.openai_base_url, api_key=self.settings.openai_api_key or "not-needed",
                                   timeout=min(self.settings.llm_timeout, 5.0), max_retries=0)
            try:
                client.models.list()
                return True, "reachable"
            except openai.NotFoundError:
                client.chat.completions.create(model=self.settings.llm_model, max_tokens=1,
                                               messages=[{"role": "user", "content": "ping"}])
                return True, "reachable (no model list; answered a one-token completion)"
        except Exception as e:
            return False, f"{type(e).__name__}: {str(e)[:160]}"
