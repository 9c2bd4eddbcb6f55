"""The text panel: a language model writing token by token, each token coloured by the probability it had.

Type a prompt and press Generate (or Play). Hovering a token lists the alternatives it was drawn
from; clicking one branches: the text is cut there, that token forced, and sampling goes on. Every
run is kept in a tree of branches that can be revisited. Tabs hold beam search (the K most likely
continuations of the prompt), the attention of the hovered or newest token per layer and head, and
a scoring mode (paste text, see each token's surprisal). Exports JSON with per-token log-probabilities,
or plain text.

The panel is kept when another text model is loaded: ``set_model`` forgets everything of the
previous model (``_forget_model``), and each new run forgets the previous run's pinned token and
alternatives (``_forget_run``). A beam or branch that is already in the tree is selected, not run again.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QWidget

from arstudio.data.tokenizers import EOT, BPETokenizer, Tokenizer, TokenizerError, tokenizer_from_config
from arstudio.engine.messages import ModelInfo, RunPlan
from arstudio.engine.record import RunRecord
from arstudio.io.errors import ExportError
from arstudio.io.export import RunDetail, export_samples
from arstudio.modalities.text.pieces import TokenText
from arstudio.modalities.text.prompt import encode_prompt
from arstudio.qt.modalities.text.analysis import AnalysisResult, TextAnalysis, score_summary
from arstudio.qt.modalities.text.layout import DEFAULT_TOKENS, HOVER_HINT, build_text_widgets
from arstudio.qt.modalities.text.lists import quoted
from arstudio.modalities.text.runs import Node, planned_steps, token_ids
from arstudio.qt.modalities.text.tokens import prob_to_unit
from arstudio.qt.panel import ModalityPanel

TOP_K = 10


class TextPanel(ModalityPanel):
    """Prompt, generated tokens, alternatives, branches, beam search, attention and scoring."""

    modality = "text"
    title = "Text"
    export_label = "Export text…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: ModelInfo | None = None
        self.tok: Tokenizer | None = None
        self.labels: tuple[str, ...] = ()
        self.text = TokenText(None, 0)
        self.context, self.end_id = 1, None
        self.nodes: dict[int, Node] = {}
        self.shown: int | None = None
        self.current_record: RunRecord | None = None
        self.pinned = -1
        self.scored: dict | None = None
        self.beams: list = []
        self._pending: dict | None = None
        self.analysis = TextAnalysis(self)
        self.analysis.computed.connect(self._on_analysis)
        self._build()

    # ---- the widgets ----------------------------------------------------------------------------
    def _build(self) -> None:
        build_text_widgets(self)
        self.prompt.textChanged.connect(lambda: self._plan(start=False))
        self.new_tokens.valueChanged.connect(lambda _v: self._plan(start=False))
        self.stop_at_end.toggled.connect(lambda _v: self._plan(start=False))
        self.generate_button.clicked.connect(self.generate)
        self.tokens_view.token_hovered.connect(self._on_hovered)
        self.tokens_view.token_clicked.connect(self._on_clicked)
        self.alternatives.alternative_chosen.connect(self.branch)
        self.tree.node_selected.connect(self.show_node)
        self.beam_button.clicked.connect(self.search_beams)
        self.beam_list.beam_chosen.connect(self._on_beam_chosen)
        self.score_button.clicked.connect(self.score)
        self.tabs.currentChanged.connect(lambda _i: self._want_attention())
        self.tokens_view.token_tip = self.token_tip


    # ---- the model and the prompt ------------------------------------------------------------------
    def set_model(self, info: ModelInfo, batch: int) -> None:
        if self.info is not None and self.info.path == info.path:
            return  # a settings change or a reset: keep the prompt and the tree
        self.info = info
        self._forget_model()
        self.context = int(info.spec.layout.length)
        try:
            self.tok = tokenizer_from_config(info.spec.config.get("tokenizer"))
        except TokenizerError as e:
            self.tok = None
            self.problem_found.emit("No tokenizer", f"{info.name}: {e}; only token ids can be shown")
        n = info.spec.values.n
        self.text = TokenText(self.tok, n, None if self.tok else info.spec.values.labels)
        self.labels = self.text.labels
        self.end_id = self.tok.token_id(EOT) if isinstance(self.tok, BPETokenizer) else None
        self.stop_at_end.setEnabled(self.end_id is not None)
        self.stop_at_end.setChecked(self.end_id is not None)
        self.new_tokens.setMaximum(self.context)
        self.new_tokens.setValue(min(DEFAULT_TOKENS, max(1, self.context // 2)))
        self.beam_len.setMaximum(self.context)
        self.tokens_view.set_placeholder(f"{info.name}: type a prompt and press Generate (or Play).")
        if self.score_box.toPlainText():
            self.score_summary.setText(f"Press Score to score this text under {info.name}.")
        self.analysis.load(str(info.path))
        self._plan(start=False)

    def _forget_model(self) -> None:
        """Forget all that belonged to the previous model: runs, tree, beams, scores, attention, plans."""
        self._forget_run()
        self.nodes, self.shown, self.current_record, self._pending = {}, None, None, None
        self.tree.clear_nodes()
        self.tokens_view.set_tokens([], [])
        self.beams = []
        self.beam_list.show_beams([])
        self.scored = None
        self.score_view.set_tokens([], [])
        self.score_summary.setText("")

    def _forget_run(self) -> None:
        """Forget what belonged to the run shown so far: the pinned token, its alternatives, the hover, attention."""
        self.pinned = -1
        self.alternatives.show_nothing()
        self.alt_caption.setText(HOVER_HINT)
        self.tokens_view.set_hovered(-1)
        self.attention.clear("Attention of the current token appears here.")

    def prompt_ids(self, n_new: int | None = None) -> tuple[list[int], list[str]]:
        """The prompt's token ids (cut to leave room for ``n_new`` new tokens) and notes on what was done to it."""
        n_new = int(self.new_tokens.value()) if n_new is None else n_new
        return encode_prompt(self.tok, self.prompt.toPlainText(), n_new, self.context)

    def _stop(self) -> int | None:
        return self.end_id if self.stop_at_end.isChecked() and self.stop_at_end.isEnabled() else None

    def _plan(self, start: bool) -> None:
        if self.info is None:
            return
        ids, notes = self.prompt_ids()
        self.hint.setText(" ".join(notes))
        self.hint.setStyleSheet("color: #e3b341;" if notes else "")
        plan = RunPlan(np.asarray(ids, dtype=np.int64), len(ids) + int(self.new_tokens.value()), self._stop(), 1)
        if start:
            self._pending = {"parent": None, "forced": None, "label": None}
        self.run_planned.emit(plan, start)

    def generate(self) -> None:
        """Write a continuation of the prompt (a new top-level run)."""
        self._plan(start=True)

    def branch(self, step: int, value: int) -> None:
        """Cut the shown run before ``step``, force ``value`` there, and sample on (a child run)."""
        node = self.nodes.get(self.shown) if self.shown is not None else None
        if node is None or step >= node.record.filled:
            return
        ids = self._ids(node.record)[:step].tolist() + [int(value)]
        origin = ("branch", node.id, tuple(ids))
        if self._select_existing(origin):
            return
        total = min(self.context, max(planned_steps(node.record), step + 2))
        old = quoted(self.labels[int(self._ids(node.record)[step])])
        self._pending = {"parent": node.id, "forced": step, "label": f"@{step}: {old} → {quoted(self.labels[value])}",
                         "origin": origin}
        self.run_planned.emit(RunPlan(np.asarray(ids, dtype=np.int64), total, self._stop(), 1), True)

    def _select_existing(self, origin: tuple) -> bool:
        """Show the node a beam or branch ``origin`` already made (True), or say there is none (False)."""
        if self._pending is not None and self._pending.get("origin") == origin:
            return True  # asked for a moment ago (a double click): its run is on its way
        for node in self.nodes.values():
            if node.origin == origin:
                self.show_node(node.id)
                return True
        return False

    # ---- runs and the tree -----------------------------------------------------------------------
    _ids = staticmethod(token_ids)

    def begin_run(self, record: RunRecord) -> None:
        req, pend = record.info.request, self._pending
        self._pending = None
        cur = self.nodes.get(self.shown) if self.shown is not None else None
        if (pend is None and not req.forced and cur is not None and cur.record is self.current_record
                and not cur.record.finished):
            cur.record = record  # a restart (new settings) of an unfinished run: the same node
            node = cur
        else:
            if pend is None:  # a run the controls or the inspector started
                forced = min(req.forced) if req.forced else None
                parent = cur.id if (forced is not None and cur is not None) else (cur.parent if cur else None)
                fstep = forced if forced is not None else (cur.forced_step if cur else None)
                label = None if forced is None else f"@{forced}: forced"
                pend = {"parent": parent, "forced": fstep, "label": label}
            nid = len(self.nodes)
            label = pend["label"] or f"seed {req.seed} · T {req.policy.temperature:g}"
            node = Node(nid, pend["parent"], record, pend["forced"], label, pend.get("origin"))
            self.nodes[nid] = node
            self.tree.add_node(nid, node.parent, label)
        self.current_record = record
        self._forget_run()
        self.show_node(node.id)

    def show_steps(self, record: RunRecord) -> None:
        for node in self.nodes.values():
            if node.record is record:
                lp = record.log_prob[: record.filled, 0]
                self.tree.update_node(node.id, record.filled, float(np.nansum(lp)))
                if node.id == self.shown:
                    self._draw(node)
                    if self.tokens_view.hovered < 0 and self.pinned < 0:
                        self._want_attention()

    def show_node(self, nid: int) -> None:
        """Show run ``nid`` of the tree."""
        node = self.nodes.get(nid)
        if node is None:
            return
        if nid != self.shown:
            self._forget_run()
        self.shown = nid
        self.tree.select(nid)
        self._draw(node)
        self._want_attention()

    def _draw(self, node: Node) -> None:
        rec = node.record
        ids = self._ids(rec)
        probs = np.exp(rec.log_prob[: rec.filled, 0])
        given = [t < rec.info.request.prefix_len for t in range(rec.filled)]
        forced = {node.forced_step} if node.forced_step is not None else set()
        following = rec is self.current_record and self.tokens_view.hovered < 0 and self.pinned < 0
        self.tokens_view.set_tokens(self.text.pieces(ids), [prob_to_unit(float(p)) for p in probs], given,
                                    forced, current=rec.filled - 1 if rec is self.current_record else -1)
        if following and rec.filled:
            box = self.tokens_view.box(rec.filled - 1)
            self.tokens_scroll.ensureVisible(box.x(), box.bottom(), 4, 8)

    def show_focus(self, step: int, sample: int) -> None:
        if self._showing_current():
            self.tokens_view.set_hovered(step if step >= 0 else self.tokens_view.hovered)

    def _showing_current(self) -> bool:
        node = self.nodes.get(self.shown) if self.shown is not None else None
        return node is not None and node.record is self.current_record

    # ---- hover, click, alternatives ----------------------------------------------------------------
    def alternatives_of(self, record: RunRecord, step: int, k: int = TOP_K) -> tuple[list[int], list[float]]:
        """The ``k`` most likely values of the distribution ``step`` was drawn from, and their probabilities."""
        view = record.view(step, 0)
        if view is None:
            return [], []
        p = np.asarray(view.probs[0], dtype=np.float64)
        top = np.argsort(-p, kind="stable")[:k]
        return [int(view.support[i]) for i in top], [float(p[i]) for i in top]

    def _on_hovered(self, step: int) -> None:
        node = self.nodes.get(self.shown) if self.shown is not None else None
        current = self._showing_current()
        if step < 0 or node is None:
            if current:
                self.step_hovered.emit(-1, -1)
            if self.pinned >= 0 and node is not None:
                self._show_alternatives(node, self.pinned)
            return
        self._show_alternatives(node, step)
        if current:
            self.step_hovered.emit(step, 0)
        self._want_attention(step)

    def _on_clicked(self, step: int) -> None:
        self.pinned = -1 if self.pinned == step else step
        node = self.nodes.get(self.shown) if self.shown is not None else None
        if node is not None and self.pinned >= 0:
            self._show_alternatives(node, step)
        if self._showing_current():
            self.step_picked.emit(step, 0)
        self._want_attention()  # of the pinned token, or the newest again

    def token_tip(self, step: int) -> str:
        """The shown run's token at ``step`` in one short line: the token, the p it had, its step."""
        node = self.nodes.get(self.shown) if self.shown is not None else None
        if node is None or not 0 <= step < node.record.filled:
            return ""
        p = math.exp(float(node.record.log_prob[step, 0]))
        given = " (prompt)" if step < node.record.info.request.prefix_len else ""
        return f"{quoted(self.labels[int(self._ids(node.record)[step])])} · p = {p:.3f} · step {step}{given}"

    def _show_alternatives(self, node: Node, step: int) -> None:
        rec = node.record
        values, probs = self.alternatives_of(rec, step)
        chosen = int(self._ids(rec)[step])
        lp = float(rec.log_prob[step, 0])
        pin = " · pinned" if self.pinned == step else ""
        self.alt_caption.setText(f"<b>step {step}</b>{pin}: {quoted(self.labels[chosen])} had p = {math.exp(lp):.3f}"
                                 "<br>click another to branch")
        self.alternatives.show_alternatives(step, values, probs, [self.labels[v] for v in values], chosen)

    def describe_step(self, record: RunRecord, step: int) -> str:
        if step < record.filled:
            return f"step {step} · token {quoted(self.labels[int(record.values[step, 0])])}"
        return f"step {step}"

    # ---- analysis: attention, beams, scores ---------------------------------------------------------
    def _want_attention(self, step: int | None = None) -> None:
        node = self.nodes.get(self.shown) if self.shown is not None else None
        if self.tabs.currentWidget() is not self.attention or node is None or node.record.filled == 0:
            return
        if step is None:
            step = self.pinned if self.pinned >= 0 else node.record.filled - 1
        self.analysis.request("attention", tokens=self._ids(node.record), step=int(step),
                              prompt=node.record.info.request.prefix_len)

    def search_beams(self) -> None:
        """Ask for the K most likely continuations of the prompt."""
        ids, _ = self.prompt_ids(int(self.beam_len.value()))
        self.beam_list.show_beams([])
        self.analysis.request("beam", prefix=np.asarray(ids, dtype=np.int64), k=int(self.beam_k.value()),
                              steps=int(self.beam_len.value()), stop_value=self._stop())

    def _on_beam_chosen(self, row: int) -> None:
        if not 0 <= row < len(self.beams) or self.info is None:
            return
        ids, _ = self.prompt_ids(int(self.beam_len.value()))
        beam = self.beams[row]
        prefix = ids + list(beam.tokens)
        origin = ("beam", tuple(prefix))
        if self._select_existing(origin):
            return
        total = min(self.context, max(len(ids) + int(self.new_tokens.value()), len(prefix) + 1))
        self._pending = {"parent": None, "forced": None, "label": f"beam {row + 1} · log p {beam.log_prob:.2f}",
                         "origin": origin}
        self.run_planned.emit(RunPlan(np.asarray(prefix, dtype=np.int64), total, self._stop(), 1), True)

    def score(self) -> None:
        """Score the pasted text (teacher forcing)."""
        self.scored = None
        self.score_summary.setText("Scoring…")
        self.analysis.request("score", text=self.score_box.toPlainText())

    def _on_analysis(self, res: AnalysisResult) -> None:
        if res.kind == "attention":
            if res.error:
                self.attention.clear(res.error)
                return
            step, keys = res.data["step"], [self.labels[k] for k in res.data["keys"]]
            keys = ["BOS", *keys] if res.data["bos"] else keys
            self.attention.show_attention(res.data["maps"], keys, f"predicting step {step}")
        elif res.kind == "beam":
            if res.error:
                self.problem_found.emit("Beam search failed", res.error)
                return
            self.beams = res.data["beams"]
            prefix = [int(v) for v in res.data["prefix"]]  # decoded with the beam, so that a character it ends is whole
            self.beam_list.show_beams([(b.log_prob, "".join(self.text.pieces(prefix + list(b.tokens))[len(prefix):]),
                                        b.finished) for b in self.beams])
        elif res.kind == "score":
            if res.error:
                self.score_summary.setText(res.error)
                self.score_view.set_tokens([], [])
                return
            d = self.scored = res.data
            lps = np.asarray(d["log_probs"], dtype=np.float64)
            pieces = (self.text.pieces(d["ids"]) if self.text.byte_level  # offsets repeat a character split over tokens
                      else [d["text"][a:b] for a, b in d["offsets"]])
            self.score_view.set_tokens(pieces, [prob_to_unit(math.exp(v)) for v in lps])
            self.score_summary.setText(score_summary(d))

    # ---- export and shutdown ------------------------------------------------------------------------
    def exported_record(self, record: RunRecord) -> RunRecord:
        node = self.nodes.get(self.shown) if self.shown is not None else None
        return node.record if node is not None else record

    def export(self, path: Path, record: RunRecord, text: dict[str, str]) -> Path:
        """The shown run as .txt, or .json with each token's log p and the replay recipe (``text``).

        Written by the same exporter as ``arstudio sample`` and ``arstudio replay``, so that a
        replay of the file gives the same bytes.
        """
        if self.info is None:
            raise ExportError("no model is loaded")
        if Path(path).suffix.lower() not in (".txt", ".json"):
            raise ExportError(f"{path}: text is written as .txt (plain) or .json (with per-token log-probabilities)")
        detail = RunDetail(record.log_prob.T, record.forced, int(record.info.request.prefix_len))
        return export_samples(path, self.info.spec, record.data(), text, detail)

    def shutdown(self) -> None:
        self.analysis.shutdown()



