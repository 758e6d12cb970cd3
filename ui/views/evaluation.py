"""Evaluation: run a dataset against the current store, read its metrics and answers, chart and compare runs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
if not state.is_admin(user):
    st.info("Evaluation is for administrators.")
    st.stop()

RUNS = Path("runs")  # like the command line: relative to where the app was started
HISTORY = RUNS / "history.jsonl"
HEADLINE = (("recall@5", "Recall@5"), ("citation_precision", "Citation precision"),
            ("correct_no_record", "Correct no-record"), ("wrong_abstention", "Wrong abstention"),
            ("pass_rate", "Pass rate"), ("latency_p50_ms", "Latency p50 (ms)"))

st.title("Evaluation")


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.0f}" if isinstance(v, (int, float)) and abs(v) >= 10 else f"{v:.3f}" if isinstance(v, float) else str(v)


def _read_json(p: Path) -> dict | None:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _readable(groups: list[str] | None) -> bool:
    """A run's answers quote its sources: a user sees runs made with groups they all have."""
    mine = state.user_groups(user)
    return mine is None or (groups is not None and set(groups) <= set(mine))


def _runs() -> list[dict]:
    """Past runs this user may read, newest first: the history file, plus any run folder it does not list."""
    try:
        from evals.report import load_history

        hist = load_history(HISTORY)
    except Exception:
        hist = []
    listed = {str(Path(h["out_dir"]).resolve()) for h in hist if h.get("out_dir")}
    for rep_path in sorted(RUNS.glob("*/report.json")):
        if str(rep_path.parent.resolve()) in listed:
            continue
        rep = _read_json(rep_path)
        if rep and "systems" in rep:
            hist.append({"timestamp": rep.get("timestamp", ""), "dataset": rep.get("dataset", {}).get("name", "?"),
                         "questions": rep.get("dataset", {}).get("questions"), "answerer": rep.get("answerer"),
                         "out_dir": str(rep_path.parent), "systems": rep["systems"], "groups": rep.get("groups")})
    hist = [h for h in hist if _readable(h.get("groups"))]
    return sorted(hist, key=lambda h: h.get("timestamp") or "", reverse=True)


def _overall(entry: dict, system: str = "hybrid") -> dict:
    v = entry.get("systems", {}).get(system, {})
    return v.get("overall", v) if isinstance(v, dict) else {}


def _label(entry: dict) -> str:
    where = Path(entry["out_dir"]).name if entry.get("out_dir") else ""
    return f"{(entry.get('timestamp') or '')[:19].replace('T', ' ')} · {entry.get('dataset', '?')} · {where}"


# -- run ----------------------------------------------------------------------------------------------
datasets = sorted(state.DATASETS_DIR.glob("*.jsonl"))
n_docs = len(engine.store.documents(groups=state.user_groups(user)))
with st.container(border=True):
    st.markdown("**Run a dataset against the current library**")
    if not datasets:
        st.info(f"No datasets in {ui.md_escape(state.DATASETS_DIR)}.")
    else:
        c1, c2, c3 = st.columns([2, 1, 1])
        ds = c1.selectbox("Dataset", datasets, format_func=lambda p: p.name, key="ev_dataset",
                          index=next((i for i, p in enumerate(datasets) if p.name == "sample.jsonl"), 0))
        limit = c2.number_input("Questions (0 = all)", min_value=0, value=0, step=5, key="ev_limit")
        c3.write("")  # aligns the checkbox with the inputs beside it
        baselines = c3.checkbox("Baselines too", value=False, key="ev_baselines",
                                help="Also score the same questions with dense-only and BM25-only retrieval "
                                     "(three times the time).")
        try:
            first = json.loads(next(line for line in ds.read_text(encoding="utf-8").splitlines() if line.strip()))
            total_q = sum(1 for line in ds.read_text(encoding="utf-8").splitlines() if line.strip())
            st.caption(f"{total_q} questions written for the corpus {ui.md_code(first.get('corpus', '?'))}; "
                       f"the library has {n_docs} documents. Questions whose files are not in the library count as misses.")
        except (StopIteration, OSError, ValueError):
            st.caption("This dataset cannot be read.")
        if st.button("Run evaluation", type="primary", disabled=n_docs == 0, key="ev_run"):
            from rich.console import Console

            from evals.runner import run_eval

            n = (int(limit) or total_q) * (3 if baselines else 1)
            bar = st.progress(0.0, text="Asking…")

            class Counting:  # the engine, counting questions for the progress bar
                done = 0

                def __getattr__(self, name):
                    return getattr(engine, name)

                def ask(self, *a, **kw):
                    Counting.done += 1
                    bar.progress(min(Counting.done / max(n, 1), 1.0), text=f"Question {Counting.done} of {n}")
                    return engine.ask(*a, **kw)

            out_dir = RUNS / f"eval-{state.stamp()}"
            log = io.StringIO()
            try:
                code = run_eval(dataset=ds, ingest_dir=None, out_dir=out_dir, baselines=baselines,
                                limit=int(limit) or None, console=Console(file=log, width=120, color_system=None),
                                engine=Counting(), history_file=HISTORY,
                                # As the signed-in user: an admin of some groups sees no other group's sources.
                                groups=state.user_groups(user))
            except Exception as e:
                code = 2
                log.write(f"{type(e).__name__}: {e}\n")
            bar.progress(1.0, text="Done." if code == 0 else "Finished with problems.")
            st.session_state["ev_last"] = {"code": code, "out_dir": str(out_dir), "log": log.getvalue()}
            if (out_dir / "report.json").exists():  # show the new run, and compare it with the one before
                previous = st.session_state.get("ev_run_pick")
                st.session_state["ev_run_pick"] = str(out_dir)
                st.session_state["ev_cmp_b"] = str(out_dir)
                if previous:
                    st.session_state["ev_cmp_a"] = previous

last = st.session_state.get("ev_last")
if last and last["code"] == 2:
    st.error("The evaluation could not run.")
    st.code(last["log"][-3000:] or "(no output)", language=None)

# -- one run ------------------------------------------------------------------------------------------
runs = _runs()
if not runs:
    st.info("No evaluation runs yet. Run a dataset above, or `make eval` on the command line.")
    st.stop()

by_dir = {e.get("out_dir"): e for e in runs if e.get("out_dir")}
options = [e.get("out_dir") for e in runs if e.get("out_dir")]
for key in ("ev_run_pick", "ev_cmp_a", "ev_cmp_b"):  # a remembered run that is gone (deleted folder) is dropped
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
if options:
    st.subheader("Run")
    sel = st.selectbox("Run", options, format_func=lambda o: _label(by_dir[o]), key="ev_run_pick",
                       label_visibility="collapsed")
    out = Path(sel)
    report = _read_json(out / "report.json")
    if report is None:
        st.warning(f"{ui.md_escape(out)} has no readable report.json (it may have been deleted).")
    else:
        overall = report.get("overall") or _overall(report)
        cols = st.columns(len(HEADLINE))
        for col, (key, label) in zip(cols, HEADLINE):
            col.metric(label, _fmt(overall.get(key)))
        d = report.get("dataset", {})
        st.caption(f"{d.get('questions')} questions from {ui.md_escape(d.get('name'))}, answerer "
                   f"{ui.md_escape(report.get('answerer'))}, {report.get('seconds')} s. Report: "
                   f"{ui.md_code(out / 'report.md')}")
        if report.get("missing_relevant"):
            st.warning(f"{len(report['missing_relevant'])} relevant file(s) of this dataset are not in the library, "
                       "so those questions cannot pass against it.")
        systems = report.get("systems", {})
        if systems:
            with st.expander("All metrics, per system"):
                metrics = sorted({m for s in systems.values() for m in s.get("overall", {})})
                st.dataframe(pd.DataFrame({s: [v.get("overall", {}).get(m) for m in metrics] for s, v in systems.items()},
                                          index=metrics), width="stretch")
            per_kind = report.get("per_kind") or systems.get("hybrid", {}).get("per_kind")
            if per_kind:
                with st.expander("Per kind of question"):
                    st.dataframe(pd.DataFrame(per_kind).T, width="stretch")
        answers_path = out / "answers.jsonl"
        if answers_path.exists():
            recs = [json.loads(line) for line in answers_path.read_text(encoding="utf-8").splitlines() if line.strip()]
            table = pd.DataFrame([{"id": r.get("id"), "kind": r.get("kind"), "question": r.get("question"),
                                   "verdict": {"yes": "Yes", "related": "Related", "no": "No record"}.get(
                                       r.get("verdict") or ("no" if r.get("abstained") else "yes")),
                                   "confidence": r.get("confidence"),
                                   "pass": bool(r.get("pass")), "why": r.get("why", ""),
                                   "cited": ", ".join(dict.fromkeys(c["source"] for c in r.get("citations", [])))}
                                  for r in recs])
            only_failed = st.toggle("Only failed questions", key="ev_only_failed")
            if only_failed and not table.empty:
                table = table[~table["pass"]]
            st.markdown(f"**Questions** ({len(table)})")
            st.dataframe(table, hide_index=True, width="stretch",
                         column_config={"pass": st.column_config.CheckboxColumn("pass"),
                                        "question": st.column_config.TextColumn("question", width="large"),
                                        "why": st.column_config.TextColumn("why", width="medium")})

# -- history ------------------------------------------------------------------------------------------
st.subheader("Over time")
datasets_run = sorted({e.get("dataset", "?") for e in runs})
pick = st.selectbox("Dataset", datasets_run, key="ev_hist_ds")
series = [e for e in reversed(runs) if e.get("dataset") == pick]
if len(series) < 2:
    st.caption("Charts appear once a dataset has two runs.")
else:
    chosen = st.multiselect("Metrics", [k for k, _ in HEADLINE if k != "latency_p50_ms"],
                            default=["recall@5", "pass_rate", "correct_no_record"], key="ev_hist_metrics")
    long = pd.DataFrame([{"run": pd.Timestamp(e.get("timestamp")), "metric": m, "value": _overall(e).get(m)}
                         for e in series for m in [*chosen, "latency_p50_ms", "latency_p95_ms"]])
    scores = long[long["metric"].isin(chosen)]
    st.altair_chart(
        alt.Chart(scores).mark_line(point=True).encode(
            x=alt.X("run:T", title=None), y=alt.Y("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("metric:N", title=None), tooltip=["run:T", "metric:N", alt.Tooltip("value:Q", format=".3f")]
        ).properties(height=240), width="stretch")
    lat = long[long["metric"].isin(["latency_p50_ms", "latency_p95_ms"])]
    st.altair_chart(
        alt.Chart(lat).mark_line(point=True).encode(
            x=alt.X("run:T", title=None), y=alt.Y("value:Q", title="latency (ms)"),
            color=alt.Color("metric:N", title=None), tooltip=["run:T", "metric:N", "value:Q"]
        ).properties(height=180), width="stretch")

# -- compare ------------------------------------------------------------------------------------------
st.subheader("Compare two runs")
if len(options) < 2:
    st.caption("Comparison needs two runs.")
else:
    from evals.report import TABLE_METRICS, better, compare

    a_col, b_col = st.columns(2)
    st.session_state.setdefault("ev_cmp_a", options[1])
    st.session_state.setdefault("ev_cmp_b", options[0])
    a = a_col.selectbox("Before (A)", options, format_func=lambda o: _label(by_dir[o]), key="ev_cmp_a")
    b = b_col.selectbox("After (B)", options, format_func=lambda o: _label(by_dir[o]), key="ev_cmp_b")
    ra = _read_json(Path(a) / "report.json") or by_dir[a]
    rb = _read_json(Path(b) / "report.json") or by_dir[b]
    all_metrics = st.checkbox("Every metric of every system (not only the main ones, hybrid)", key="ev_cmp_all")
    rows = []
    for metric, va, vb, delta in compare(ra, rb):
        system, _, name = metric.partition(".")
        if all_metrics or (system == "hybrid" and name in (*TABLE_METRICS, "false_yes")):
            good = better(metric, delta)
            rows.append({"metric": metric if all_metrics else name, "A": va, "B": vb, "B − A": delta,
                         "change": "" if good is None else ("▲ better" if good else "▼ worse")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 4, 900),
                 column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in ("A", "B", "B − A")})
