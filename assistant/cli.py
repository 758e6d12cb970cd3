"""`precedent`: a thin command line over the Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Precedent: have we done work like this? Answers from your own project documents, cited.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()


def _engine():
    from assistant.engine import get_engine
    from assistant.store import StoreUnavailable

    try:
        return get_engine()
    except StoreUnavailable as e:
        console.print(f"[red]Store unavailable:[/red] {e}")
        raise typer.Exit(2)


def _filters(client, project, date_from, date_to, fmt, doc_type, as_user):
    from assistant.access import groups_for_user
    from assistant.models import Filters

    return Filters(client=client, project=project, date_from=date_from, date_to=date_to, format=fmt,
                   doc_type=doc_type, groups=groups_for_user(as_user))


@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="Files or folders (recursive)."),
           prune: bool = typer.Option(False, help="Remove documents whose files are gone from these folders."),
           groups: Optional[str] = typer.Option(None, help="Comma-separated access groups for these documents."),
           as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
           if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if the store already has documents.")):
    """Ingest files and folders; unchanged files are skipped, changed ones replaced."""
    eng = _engine()
    if if_empty and eng.store.stats()["documents"] > 0:
        console.print(f"Store already has {eng.store.stats()['documents']} documents; skipping ingest.")
        return
    for p in paths:
        if not p.exists():
            console.print(f"[red]No such file or folder:[/red] {p}")
            raise typer.Exit(2)
    group_list = [g.strip() for g in groups.split(",") if g.strip()] if groups else None
    paths, mail_failed = _ingest_mailboxes(eng, paths, group_list, as_json)
    if not paths:
        raise typer.Exit(1 if mail_failed else 0)
    ing = eng.ingestor()
    with Progress(TextColumn("[bold]Ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, disable=as_json or not console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def progress(done, total, source, status):
            bar.update(task, completed=done, total=total, description=f"{status}: {source}"[-60:])
            if status == "failed":
                pass

        report = ing.ingest_paths(paths, groups=group_list, prune=prune, progress=progress)
    if as_json:
        data = report.model_dump(exclude={"results", "new_chunks"})
        out.print_json(json.dumps(data))
    else:
        for f in report.failed:
            console.print(f"[red]FAILED[/red] {f.source}: {f.error}")
        console.print(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                      f"deleted {report.deleted}, failed {len(report.failed)} — store: {report.documents} documents, "
                      f"{report.chunks} chunks ({report.seconds:.1f} s)")
        if report.answered_gaps:
            console.print(f"{report.answered_gaps} open question(s) now have an answer (precedent gaps)")
    if report.failed or mail_failed:
        raise typer.Exit(1)


def _ingest_mailboxes(eng, paths: list[Path], groups: list[str] | None, as_json: bool) -> tuple[list[Path], bool]:
    """mbox files and Maildir folders become project updates; returns the other paths, and whether any failed."""
    from assistant import updates
    from ingest.mailbox import MailboxError, mailbox_kind, read_updates

    rest, failed = [], False
    for p in paths:
        if mailbox_kind(p) is None:
            rest.append(p)
            continue
        try:
            mail = read_updates(p, groups)
            report = updates.add(eng, mail.updates)
        except (MailboxError, updates.UpdateError) as e:
            console.print(f"[red]FAILED[/red] {e}", highlight=False)
            failed = True
            continue
        failed = failed or bool(report.failed)
        if as_json:
            out.print_json(json.dumps({"mailbox": str(p), "messages": mail.messages, "skipped": mail.skipped,
                                       **report.model_dump(exclude={"new_chunks"})}))
            continue
        for f in report.failed:
            console.print(f"[red]FAILED[/red] {f.source}: {f.error}", highlight=False)
        console.print(f"{p}: {mail.messages} messages, {len(mail.updates)} updates (added {report.added}, "
                      f"updated {report.updated}, unchanged {report.unchanged}), {len(mail.skipped)} skipped",
                      highlight=False)
        for why in mail.skipped:
            console.print(f"  skipped: {why}", highlight=False, markup=False)
        if report.answered_gaps:
            console.print(f"{report.answered_gaps} open question(s) now have an answer (precedent gaps)")
    return rest, failed


def _asker(as_user: str | None) -> str:
    from assistant.viewer import LOCAL

    return as_user or LOCAL


@app.command()
def ask(question: str = typer.Argument(..., help="Your question, in plain words."),
        as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON."),
        client: Optional[str] = typer.Option(None), project: Optional[str] = typer.Option(None),
        date_from: Optional[str] = typer.Option(None, "--from", help="ISO date"),
        date_to: Optional[str] = typer.Option(None, "--to", help="ISO date"),
        fmt: Optional[str] = typer.Option(None, "--format"), doc_type: Optional[str] = typer.Option(None),
        as_user: Optional[str] = typer.Option(None, "--as", help="Answer as this user (their groups apply)."),
        no_llm: bool = typer.Option(False, "--no-llm", help="Use the extractive answerer even if an LLM is set.")):
    """Ask one question and get a cited answer."""
    eng = _engine()
    f = _filters(client, project, date_from, date_to, fmt, doc_type, as_user)
    if as_json:
        a = eng.ask(question, filters=f, use_llm=False if no_llm else None, asker=_asker(as_user))
        out.print_json(a.model_dump_json())
        return
    _print_stream(eng.ask_stream(question, filters=f, use_llm=False if no_llm else None, asker=_asker(as_user)))


def _print_stream(events):
    from assistant.models import Answer

    from rich.live import Live
    from rich.text import Text

    answer = None
    streamed: list[str] = []
    # The raw stream is shown while it arrives, then replaced by the checked answer (citations that
    # point at nothing removed), so an invented [n] never stays on screen.
    with Live(Text(""), console=out, transient=True, auto_refresh=False) as live:
        for ev in events:
            if isinstance(ev, Answer):
                answer = ev
            else:
                streamed.append(ev)
                live.update(Text("".join(streamed)), refresh=True)
    out.print(answer.answer if answer else "".join(streamed), markup=False, highlight=False)
    if answer:
        if answer.notice:
            console.print(f"[yellow]{answer.notice}[/yellow]")
        if answer.citations:
            out.print("\n[bold]Sources[/bold]")
            for c in answer.citations:
                loc = f" ({c.location})" if c.location else ""
                out.print(f"[{c.n}] {c.source}{loc}{', ' + c.date if c.date else ''}", markup=False, highlight=False)
    return answer


@app.command()
def chat(as_user: Optional[str] = typer.Option(None, "--as", help="Chat as this user.")):
    """A conversation in the terminal; follow-up questions use the history. Ctrl-D or 'exit' ends it."""
    from assistant.models import Turn

    eng = _engine()
    f = _filters(None, None, None, None, None, None, as_user)
    history: list[Turn] = []
    console.print("Ask about past work. Type 'new' to start over, 'exit' to quit.")
    while True:
        try:
            q = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if q in ("exit", "quit"):
            break
        if q == "new":
            history = []
            continue
        if not q:
            continue
        a = _print_stream(eng.ask_stream(q, history=history, filters=f, asker=_asker(as_user)))
        history.append(Turn(question=q, answer=a))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """Backends in use, document and chunk counts, and whether the LLM answers."""
    from assistant.settings import get_settings
    from assistant.store import StoreUnavailable, describe_store

    s = get_settings()
    try:
        from assistant.engine import get_engine

        st = get_engine().status()
        ok = st["store"]["reachable"]
        if not ok:
            st["store"]["error"] = f"{describe_store(s)} does not answer"
    except StoreUnavailable as e:
        st = {"store": {"kind": "server" if s.chroma_url else "embedded", "location": s.chroma_url or str(s.store_dir),
                        "reachable": False, "error": str(e)},
              "answerer": "llm" if s.llm_enabled else "extractive"}
        ok = False
    if as_json:
        out.print_json(json.dumps(st))
    else:
        store = st["store"]
        out.print(f"Store:    {store['kind']} ({store['location']}) — {'reachable' if store['reachable'] else 'UNREACHABLE'}")
        if store.get("error"):
            out.print(f"          {store['error']}", markup=False)
        if "documents" in st:
            out.print(f"Content:  {st['documents']} documents, {st['chunks']} chunks")
            if not st.get("lexical_ready", True):
                c = st["lexical_catchup"]
                out.print(f"Keyword index: building ({c['done']} of {c['total']} documents); answers use dense search "
                          "until it is ready")
        if "embedder" in st:
            out.print(f"Embedder: {st['embedder']}")
        llm = st.get("llm", {})
        line = f"Answerer: {st['answerer']}"
        if llm.get("enabled"):
            line += f" ({llm.get('model')} at {llm.get('base_url') or 'api.openai.com'}: " \
                    f"{'reachable' if llm.get('reachable') else 'NOT reachable — ' + str(llm.get('detail'))})"
        out.print(line, markup=False)
    if not ok:
        raise typer.Exit(2)


@app.command()
def delete(source: str = typer.Argument(..., help="The document's source path as shown by `precedent docs`.")):
    """Remove one document from the store."""
    eng = _engine()
    doc = eng.store.document_by_source(source)
    if not doc:
        console.print(f"[red]No document with source {source!r}[/red]")
        raise typer.Exit(1)
    eng.ingestor().delete(doc.id)
    console.print(f"Deleted {source}")


@app.command()
def docs(as_json: bool = typer.Option(False, "--json"),
         as_user: Optional[str] = typer.Option(None, "--as", help="List what this user may see.")):
    """List the documents in the store."""
    from assistant.access import groups_for_user

    eng = _engine()
    items = eng.store.documents(groups=groups_for_user(as_user))
    if as_json:
        out.print_json(json.dumps([d.model_dump(exclude={"original"}) for d in items]))
        return
    for d in items:
        out.print(f"{d.source}\t{d.title}\t{d.project or '-'}\t{d.client or '-'}\t{d.date or '-'}\t{d.chunk_count}",
                  markup=False, highlight=False)


projects_app = typer.Typer(help="Project cards, and the project registry.", invoke_without_command=True)
app.add_typer(projects_app, name="projects")


@projects_app.callback()
def projects(ctx: typer.Context, as_json: bool = typer.Option(False, "--json"),
             as_user: Optional[str] = typer.Option(None, "--as", help="List what this user may see.")):
    """Project cards: name, client, period, people and a timeline of their documents."""
    if ctx.invoked_subcommand:
        return
    from assistant.access import groups_for_user

    eng = _engine()
    groups = groups_for_user(as_user)
    cards = eng.projects(groups).cards(groups=groups)
    if as_json:
        out.print_json(json.dumps([eng.project_card(c.key, groups).model_dump() for c in cards]))
        return
    for c in cards:
        team = ", ".join(f"{p.name} ({p.role})" if p.role else p.name for p in c.team[:5]) or "-"
        out.print(f"[bold]{c.name}[/bold] — {c.client or 'no client'} ({c.period or 'undated'}), "
                  f"{len(c.documents)} documents; people: {team}")


@projects_app.command("import")
def projects_import(file: Path = typer.Argument(..., help="The registry: CSV, XLSX or YAML (see README).")):
    """Import the project registry (replaces the previous one: re-importing updates cards, a removed row
    removes its project)."""
    from assistant.registry import RegistryError, load_registry

    try:
        registry = load_registry(file)
    except RegistryError as e:
        console.print(f"[red]Not imported:[/red] {file.name}")
        for line in e.errors:
            console.print(f"  {line}", markup=False)
        raise typer.Exit(1) from None
    eng = _engine()
    eng.store.put_registry(registry)
    out.print(f"Imported {len(registry.projects)} projects from {file.name}.")


@projects_app.command("clear")
def projects_clear():
    """Remove the project registry (projects are then derived from the documents alone)."""
    _engine().store.put_registry(None)
    out.print("Project registry removed.")


@app.command()
def people(as_json: bool = typer.Option(False, "--json"),
           as_user: Optional[str] = typer.Option(None, "--as", help="List what this user may see.")):
    """Who worked on what, from the documents."""
    from assistant.access import groups_for_user

    eng = _engine()
    groups = groups_for_user(as_user)
    from assistant.projects import person_key

    index = eng.projects(groups)
    who = index.people(groups=groups)
    if as_json:
        rows = {}
        for p, cs in who.items():
            seen = [next((t for t in c.team if person_key(t.name) == person_key(p)), None) for c in cs]
            rows[p] = {"projects": [c.name for c in cs],
                       "roles": sorted({t.role for t in seen if t and t.role}),
                       "evidence": [{"project": c.name, "sentence": t.evidence, "source": t.source}
                                    for c, t in zip(cs, seen) if t and t.evidence]}
        out.print_json(json.dumps(rows))
        return
    for p, cs in who.items():
        out.print(f"{p}: {', '.join(c.name for c in cs)}", markup=False)


@app.command()
def brief(question: str = typer.Argument(..., help="The question whose answer becomes the brief."),
          out_file: Path = typer.Option(Path("brief.md"), "--out", help="brief.md or brief.docx"),
          as_user: Optional[str] = typer.Option(None, "--as")):
    """Export a one-page capability brief (Markdown or DOCX) from an answer."""
    from assistant.brief import brief_docx, brief_markdown

    eng = _engine()
    a = eng.ask(question, filters=_filters(None, None, None, None, None, None, as_user), use_llm=False)
    if out_file.suffix.lower() == ".docx":
        out_file.write_bytes(brief_docx(a))
    else:
        out_file.write_text(brief_markdown(a))
    console.print(f"Wrote {out_file}")


users_app = typer.Typer(help="Local accounts for the app's sign-in.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(username: str, role: str = typer.Option("member", help="member or admin"),
              groups: str = typer.Option("everyone", help="Comma-separated groups."),
              password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
              name: str = typer.Option("", help="Display name."),
              email: str = typer.Option("", help="E-mail address, for digests and knowledge requests.")):
    """Add or update a local account (the password is stored as a bcrypt hash)."""
    from assistant.access import User, save_user, users_file
    from assistant.notify import valid_address

    if role not in ("member", "admin"):
        console.print("[red]role must be member or admin[/red]")
        raise typer.Exit(2)
    if email and not valid_address(email):
        console.print(f"[red]--email: {email!r} is not an e-mail address[/red]", highlight=False)
        raise typer.Exit(2)
    save_user(User(username=username, name=name or username, role=role, email=email,
                   groups=[g.strip() for g in groups.split(",") if g.strip()]), password)
    console.print(f"Saved {username} ({role}) to {users_file()}")


@users_app.command("list")
def users_list():
    """List local accounts."""
    from assistant.access import load_users

    for u in load_users().values():
        out.print(f"{u.username}\t{u.role}\t{','.join(u.groups)}", markup=False)


@app.command("eval")
def eval_cmd(dataset: Path = typer.Option(..., help="JSONL dataset."),
             ingest_dir: Optional[Path] = typer.Option(None, "--ingest", help="Ingest DIR into a fresh temporary store first."),
             out_dir: Path = typer.Option(Path("runs/eval"), "--out", help="Where to write the report."),
             baselines: bool = typer.Option(True, help="Also score dense-only and BM25-only retrieval."),
             gate: Optional[Path] = typer.Option(None, help="Fail (exit 1) if a metric is below these thresholds (JSON)."),
             limit: Optional[int] = typer.Option(None, help="Only the first N questions."),
             llm: bool = typer.Option(False, "--llm", help="Score the LLM path (answers and the LLM judge) against "
                                      "the configured OpenAI-compatible server.")):
    """Run an evaluation dataset and write answers.jsonl, report.json, report.md and charts."""
    from assistant.settings import get_settings
    from evals.runner import run_eval

    if llm and not get_settings().llm_enabled:
        console.print("[red]--llm needs a language model:[/red] set OPENAI_BASE_URL (and OPENAI_API_KEY, "
                      "PRECEDENT_LLM_MODEL) to an OpenAI-compatible server.")
        raise typer.Exit(2)
    code = run_eval(dataset=dataset, ingest_dir=ingest_dir, out_dir=out_dir, baselines=baselines,
                    thresholds=gate, limit=limit, console=console, use_llm=llm)
    raise typer.Exit(code)


judge_app = typer.Typer(help="The evidence judge: train it, and measure it leave-one-corpus-out.", no_args_is_help=True)
app.add_typer(judge_app, name="judge")


@judge_app.command("train")
def judge_train(corpora: str = typer.Option("sample,18f,usds", help="Comma-separated corpora to train on."),
                stores: Path = typer.Option(Path("runs/stores"), help="Where each corpus is ingested (reused)."),
                out_file: Optional[Path] = typer.Option(None, "--out", help="Model file (default: the shipped one).")):
    """Ask every labelled question, fit the judge on the candidates, write the model file."""
    from assistant.judge import MODEL_FILE
    from evals.train_judge import train

    train(stores, out_file or MODEL_FILE, [c.strip() for c in corpora.split(",") if c.strip()], console=console)


@judge_app.command("loco")
def judge_loco(corpora: str = typer.Option("sample,18f,usds", help="Comma-separated corpora."),
               stores: Path = typer.Option(Path("runs/stores"), help="Where each corpus is ingested (reused)."),
               out_dir: Path = typer.Option(Path("runs/loco"), "--out"),
               gate: Optional[Path] = typer.Option(None, help="Fail (exit 1) below the 'loco' thresholds of this file.")):
    """Leave one corpus out: fit on the others, score it, for each corpus; print the table."""
    from evals.train_judge import check, loco

    result = loco(stores, out_dir, [c.strip() for c in corpora.split(",") if c.strip()], console=console)
    if gate is not None:
        fails = check(result, json.loads(gate.read_text())["loco"])
        for f in fails:
            console.print(f"[red]below the gate:[/red] {f}", highlight=False)
        raise typer.Exit(1 if fails else 0)


@app.command()
def bench(as_json: bool = typer.Option(False, "--json"),
          sizes: str = typer.Option("1000,10000,100000", help="Store sizes (chunks) to time queries at."),
          out_file: Path = typer.Option(Path("runs/bench.json"), "--out")):
    """Measure embedder, ingest and query speed and memory."""
    from evals.bench import run_bench

    run_bench(sizes=[int(x) for x in sizes.split(",") if x], out_file=out_file, as_json=as_json)


@app.command("export-feedback")
def export_feedback(out_file: Path = typer.Option(Path("runs/feedback-rows.jsonl"), "--out")):
    """Turn 👎 feedback from the app into draft dataset rows for a person to complete."""
    from evals.feedback import export_rows

    n = export_rows(out_file)
    console.print(f"Wrote {n} draft rows to {out_file}")



# -- the awareness loop: updates in, digests out, knowledge gaps -------------------------------------
def _viewer(as_user: Optional[str]):
    from assistant.viewer import Viewer

    return Viewer.for_username(as_user)


updates_app = typer.Typer(help="Project updates: what happened on a project, searchable at once.", no_args_is_help=True)
app.add_typer(updates_app, name="updates")


@updates_app.command("add")
def updates_add(project: str = typer.Option(..., help="The project's name (an existing one, or a new one)."),
                text: str = typer.Option(..., help="What happened."),
                outcome: str = typer.Option("", help="The outcome, if any."),
                tech: str = typer.Option("", "--tech", help="Comma-separated technologies."),
                people: str = typer.Option("", help="Comma-separated people involved."),
                date: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default today)."),
                author: Optional[str] = typer.Option(None, help="Who writes it: a username (their groups apply) "
                                                     "or a name."),
                groups: Optional[str] = typer.Option(None, help="Comma-separated groups (at most the author's)."),
                as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")):
    """Add a project update: stored as a document, ingested at once, on the project's timeline."""
    from pydantic import ValidationError

    from assistant import updates

    try:
        u = updates.Update(project=project, text=text, outcome=outcome, technologies=updates.split_list(tech),
                           people=updates.split_list(people), date=updates.parse_date(date, "--date"), author=author,
                           groups=updates.split_list(groups) or None)
        report = updates.add(_engine(), [u])
    except ValidationError as e:
        err = e.errors()[0]
        console.print(f"[red]--{err['loc'][0]}: {err['msg']}[/red]", highlight=False)
        raise typer.Exit(2)
    except updates.UpdateError as e:
        console.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2)
    source = report.results[0]["source"] if report.results else ""
    if as_json:
        out.print_json(json.dumps({"source": source, **report.model_dump(exclude={"new_chunks", "results"})}))
    elif report.failed:
        console.print(f"[red]FAILED[/red] {report.failed[0].source}: {report.failed[0].error}", highlight=False)
    else:
        console.print(f"Added update {source} to {project}", highlight=False)
        if report.answered_gaps:
            console.print(f"{report.answered_gaps} open question(s) now have an answer (precedent gaps)")
    if report.failed:
        raise typer.Exit(1)


@updates_app.command("list")
def updates_list(project: Optional[str] = typer.Option(None, help="Only this project's updates."),
                 as_json: bool = typer.Option(False, "--json"),
                 as_user: Optional[str] = typer.Option(None, "--as", help="List what this user may see.")):
    """Project updates in the store, newest first."""
    from assistant.updates import is_update

    eng = _engine()
    v = _viewer(as_user)
    index = eng.projects(v.groups)
    items = [d for d in eng.store.documents(groups=v.groups) if is_update(d)
             and (project is None or index.name_of(index.key_of(d)).lower() == project.lower())]
    items.sort(key=lambda d: (d.date or "", d.ingested_at or ""), reverse=True)
    if as_json:
        out.print_json(json.dumps([d.model_dump(exclude={"original"}) for d in items]))
        return
    for d in items:
        out.print(f"{d.date or '-'}\t{index.name_of(index.key_of(d))}\t{d.title}\t{d.source}", markup=False,
                  highlight=False)


@app.command()
def digest(since: str = typer.Option("7d", help="The period: 7d, 24h, 2w or a date YYYY-MM-DD."),
           as_user: Optional[str] = typer.Option(None, "--as", help="The digest this user may see."),
           fmt: str = typer.Option("md", "--format", help="md or html"),
           out_file: Optional[Path] = typer.Option(None, "--out", help="Write the digest here (else print it)."),
           send: bool = typer.Option(False, "--send", help="Mail it through PRECEDENT_SMTP_URL."),
           to: Optional[str] = typer.Option(None, "--to", help="Comma-separated addresses (instead of the settings' "
                                            "recipients)."),
           as_json: bool = typer.Option(False, "--json", help="Print the digest's content as JSON.")):
    """What's new: new and updated projects, updates by project, people, and questions with no record."""
    from assistant import digest as dg
    from assistant.updates import split_list

    if fmt not in ("md", "html"):
        console.print(f"[red]--format: expected md or html, got {fmt!r}[/red]", highlight=False)
        raise typer.Exit(2)
    try:
        start = dg.parse_since(since)
    except ValueError as e:
        console.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2)
    eng = _engine()
    v = _viewer(as_user)
    d = dg.build(eng, v, start)
    text = dg.to_html(d) if fmt == "html" else dg.to_markdown(d)
    if as_json:
        out.print_json(d.model_dump_json())
    elif out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out_file} ({len(d.projects)} projects, {d.updates} updates, "
                      f"{sum(c.count for c in d.gaps)} questions with no record)", highlight=False)
    elif not send:
        out.print(text, markup=False, highlight=False)
    if send:
        deliveries = dg.send(eng, start, viewer=v if as_user else None, to=split_list(to) or None)
        for r in deliveries:
            if r.ok:
                console.print(f"Sent the digest for {r.viewer} to {r.to}", highlight=False)
            else:
                console.print(f"[red]Not sent[/red] {r.to or ''}: {r.error}", highlight=False)
        if not all(r.ok for r in deliveries):
            raise typer.Exit(1)


gaps_app = typer.Typer(help="Knowledge gaps: questions we could not answer, and who might know.")
app.add_typer(gaps_app, name="gaps")


@gaps_app.callback(invoke_without_command=True)
def gaps_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
              as_user: Optional[str] = typer.Option(None, "--as", help="What this user may see."),
              answered: bool = typer.Option(False, "--answered", help="Include questions answered since.")):
    """Open questions, similar ones clustered, most asked and most recent first, with who might know."""
    if ctx.invoked_subcommand is not None:
        return
    from assistant.gaps import clusters

    eng = _engine()
    v = _viewer(as_user)
    found = clusters(eng, v, status=None if answered else "open")
    if as_json:
        out.print_json(json.dumps([c.model_dump(mode="json") for c in found]))
        return
    if not found:
        out.print("No open knowledge gaps.")
        return
    for c in found:
        head = f"#{c.id}  asked {c.count}x by {c.askers}, last {c.last_asked:%Y-%m-%d}" + \
               (" (answered)" if c.status == "answered" else "")
        if not c.visible:
            out.print(f"{head}  — question shown to admins and its askers only", markup=False, highlight=False)
            continue
        out.print(f"{head}  {c.questions[0]}", markup=False, highlight=False)
        for q in c.questions[1:]:
            out.print(f"      also: {q}", markup=False, highlight=False)
        for e in c.who_might_know[:5]:
            ev = e.evidence[0].source if e.evidence else ""
            out.print(f"      who might know: {e.name} ({', '.join(e.projects)}; {ev})", markup=False, highlight=False)


@gaps_app.command("ask")
def gaps_ask(cluster_id: int = typer.Argument(..., help="The gap's number as `precedent gaps` shows it (#N)."),
             people: str = typer.Option(..., help="Comma-separated people to ask."),
             as_user: Optional[str] = typer.Option(None, "--as", help="Who is asking.")):
    """Ask them: record a knowledge request and e-mail the people (when SMTP is set and their address is known)."""
    from assistant.gaps import request
    from assistant.updates import split_list

    eng = _engine()
    try:
        r = request(eng, _viewer(as_user), cluster_id, split_list(people))
    except (ValueError, PermissionError) as e:
        console.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2)
    console.print(f"Recorded request #{r.id}: asked {', '.join(r.people)}", highlight=False)
    if r.emailed:
        console.print(f"E-mailed {', '.join(r.emailed)}", highlight=False)
    if r.not_emailed:
        console.print(f"No e-mail address known for {', '.join(r.not_emailed)} "
                      "(PRECEDENT_PEOPLE_EMAILS or `precedent users add --email`)", highlight=False)
    if r.error:
        console.print(f"[yellow]{r.error}[/yellow]", highlight=False)


@gaps_app.command("reask")
def gaps_reask():
    """Ask the open questions again now (an ingest does this by itself)."""
    from assistant.gaps import reask_open

    done = reask_open(_engine())
    console.print(f"{len(done)} open question(s) now have an answer")


if __name__ == "__main__":
    app()
