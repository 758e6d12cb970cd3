"""The LLM answerer: any OpenAI-compatible chat endpoint through langchain-openai, streamed.

It only phrases the answer. The verdict (match or no record) comes from the evidence gate, so text
inside a document cannot turn a "no" into a "yes"; the model sees sources as delimited data, and
its citations are checked afterwards like any other.
"""

from __future__ import annotations

import logging
import re
from typing import Iterator

from pydantic import BaseModel, Field

from assistant import prompts
from assistant.citations import check, cited_numbers
from assistant.models import Citation, Source

log = logging.getLogger(__name__)


class LLMError(RuntimeError):
    pass


class Degenerate(LLMError):
    """The model looped (the same sentence again and again) or ran into its token cap."""


class CandidateVerdict(BaseModel):
    candidate: int
    match: bool
    quote: str = ""


class JudgeReply(BaseModel):
    verdicts: list[CandidateVerdict] = Field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[*_`#>]", " ", text).split()).lower()


def looping(text: str, times: int = 3) -> bool:
    """The same sentence (20+ characters) written `times` times or more: a small model stuck in a loop."""
    from collections import Counter

    parts = [p.strip().lower() for p in re.split(r"(?<=[.!?])\s+|\n+", text) if len(p.strip()) >= 20]
    return bool(parts) and Counter(parts).most_common(1)[0][1] >= times


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
        text = ""
        try:
            for chunk in self.model.stream(msgs):
                if chunk.content:
                    text += str(chunk.content)
                    yield str(chunk.content)
                    if looping(text):
                        raise Degenerate("the model repeated itself")
                finish = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason")
                if finish == "length":
                    raise Degenerate(f"the answer ran into the {self.settings.llm_max_tokens}-token cap")
        except LLMError:
            raise
        except Exception as e:  # network, timeout, HTTP error: the caller falls back
            raise LLMError(f"{type(e).__name__}: {str(e)[:200]}") from e

    def judge(self, question: str, candidates: list[list[Source]]) -> dict[int, str | None]:
        """For each candidate (a list of its best passages), the verbatim sentence that shows we did the
        work, or None. A "match" counts only if its quote is found in that candidate's passages; malformed
        output, a refusal or a time-out raise LLMError (the caller keeps the learned judge's verdict)."""
        from langchain_core.messages import HumanMessage

        blocks = [f"Candidate {i}:\n{format_sources(srcs)}" for i, srcs in enumerate(candidates, 1)]
        msg = HumanMessage(prompts.JUDGE.format(question=question, candidates="\n\n".join(blocks)))
        try:
            structured = self.model.with_structured_output(JudgeReply, method="json_mode", include_raw=True)
            out = structured.invoke([msg])
        except Exception as e:
            raise LLMError(f"{type(e).__name__}: {str(e)[:200]}") from e
        reply = out.get("parsed") if isinstance(out, dict) else None
        if reply is None:
            raise LLMError(f"the judge's reply was not the JSON asked for ({str(out.get('parsing_error'))[:120]})")
        found: dict[int, str | None] = {i: None for i in range(1, len(candidates) + 1)}
        for v in reply.verdicts:
            if v.match and v.candidate in found and len(v.quote.split()) >= 4:
                text = _norm(" ".join(s.chunk.text for s in candidates[v.candidate - 1]))
                if _norm(v.quote) in text:  # a quote we cannot find is no evidence
                    found[v.candidate] = v.quote
        return found

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


def answer_with_fallback(llm, standalone: str, matches, fallback):
    """Stream the LLM's phrasing over the matched evidence, then check it; on an error, a time-out, a loop,
    the token cap or an answer that cites nothing, the extractive answer (`fallback`) stands, with a notice."""
    srcs: list[Source] = []
    for p in matches:
        srcs.extend(p.sources[:3])
    srcs = srcs[:10]
    parts: list[str] = []
    try:
        for tok in llm.stream(standalone, srcs):
            parts.append(tok)
            yield tok
    except Exception as e:
        log.warning("LLM failed, using the extractive answer: %s", e)
        fallback.notice = (f"The language model's answer was unusable ({e}); showing the extractive answer."
                           if isinstance(e, Degenerate) else
                           f"The language model is unavailable ({str(e)[:120]}); showing the extractive answer.")
        yield "\n\n" + fallback.answer if parts else fallback.answer
        return
    text = "".join(parts).strip()
    if not text:  # the model wrote nothing: keep the extractive answer
        fallback.notice = "The language model returned no text; showing the extractive answer."
        yield fallback.answer
        return
    citations = [Citation(n=i, source=s.document.source, title=s.document.title, document_id=s.document.id,
                          chunk_id=s.chunk.id, page=s.chunk.page, slide=s.chunk.slide, section=s.chunk.heading,
                          date=s.document.date, snippet=s.chunk.text) for i, s in enumerate(srcs, 1)]
    text, removed, uncited = check(text, citations)
    used = set(cited_numbers(text))
    if not used:  # an answer that cites nothing cannot be trusted: keep the extractive one
        fallback.notice = "The language model's answer cited no source; showing the extractive answer."
        yield "\n\n---\n" + fallback.answer
        return
    verdict = fallback.answer.splitlines()[0]
    low = text.lower().lstrip("*# ")
    if not low.startswith(("yes", "no record", "no,")):  # the gate's verdict leads, in the model's words' place
        text = f"{verdict}\n\n{text}"
    fallback.answer = text
    fallback.answerer = "llm"
    fallback.also = []  # the model answers from the matches only
    fallback.citations = [c for c in citations if c.n in used]
    for p, pm in zip(matches, fallback.projects):  # per-project evidence in the LLM answer's numbering
        own = {s.chunk.id for s in p.sources}
        pm.citations = [c.n for c in fallback.citations if c.chunk_id in own]
    fallback.removed_citations, fallback.uncited_sentences = removed, uncited
    if text.lower().lstrip("*# ").startswith("no record"):
        fallback.abstained, fallback.verdict = True, "no"
        fallback.closest, fallback.projects = fallback.projects, []
        for pm in fallback.closest:
            pm.is_match = False
