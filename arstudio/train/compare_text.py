"""What the Compare window writes: its summary line, its metrics table's labels and, for sequences, the
steps of largest KL. No Qt, so it lives beside the comparison itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from arstudio.core.modality import example_unit, plural
from arstudio.train.compare import CompareSummary, Disagreement

TOP_STEPS = 12  # steps listed where the two sequences disagree most


def label_of(v: float, labels: tuple[str, ...] | None) -> str:
    """A value as its display label (a token's text), else the number."""
    if np.isnan(v):
        return ""
    i = int(v)
    if labels is not None and float(i) == v and 0 <= i < len(labels):
        return labels[i]
    return f"{v:g} "


def summary_line(s: CompareSummary, unit: str) -> str:
    """The status line of a finished comparison."""
    first = "never" if s.first_difference is None else f"first at step {s.first_difference}"
    return (f"Done: {plural(s.steps, unit)} compared. Mean KL(A ‖ B) {s.kl_mean:.4f} nats per {unit} "
            f"(max {s.kl_max:.4f} at step {s.kl_max_step}); log p_A(x_A) − log p_B(x_B): mean "
            f"{s.dlogp_mean:+.4f}, mean |·| {s.dlogp_abs_mean:.4f} nats per {unit}; "
            f"samples differ {1 - s.agree:.0%} of the time ({first})")


def teacher_caption(d: Disagreement, name: str) -> str:
    """One line on a teacher-forced comparison."""
    return (f"Teacher-forced on {name}: total KL {d.kl.sum():.2f} nats; "
            f"log p A {d.log_p_a.sum():.2f}, B {d.log_p_b.sum():.2f} nats")


def teacher_text(d: Disagreement, name: str, unit: str, labels: tuple[str, ...] | None) -> str:
    """A teacher-forced sequence: the caption, then the places of largest KL with what the input had there."""
    lines = [teacher_caption(d, name) + f"; largest KL per {unit}:"]
    for i in np.argsort(-d.kl, kind="stable")[:TOP_STEPS]:
        lines.append(f"  {unit} {int(i)} {label_of(float(d.x[i]), labels)!r}: KL {d.kl[i]:.3f} nats; "
                     f"log p A {d.log_p_a[i]:.2f}, B {d.log_p_b[i]:.2f}")
    return "\n".join(lines)


def top_disagreements(t: np.ndarray, kl: np.ndarray, values: dict[str, np.ndarray], log_p: dict[str, np.ndarray],
                      unit: str, labels: tuple[str, ...] | None) -> str:
    """The steps of largest KL, with what A and B wrote there in the first sample ("" before any step)."""
    if not len(t):
        return ""
    lines = [f"Largest KL(A ‖ B) per {unit}, sample 1:"]
    for i in np.argsort(-kl, kind="stable")[:TOP_STEPS]:
        step = int(t[i])
        va, vb = float(values["a"][0, step]), float(values["b"][0, step])
        pa, pb = float(log_p["a"][0, step]), float(log_p["b"][0, step])
        mark = "=" if va == vb else "≠"
        lines.append(f"step {step}: KL {kl[i]:.3f} nats; A {label_of(va, labels)!r} (log p {pa:.2f}) "
                     f"{mark} B {label_of(vb, labels)!r} (log p {pb:.2f})")
    return "\n".join(lines)


def metric_rows(rows: list[tuple[str, str, str]], modality: str, metrics_a: dict[str, Any],
                metrics_b: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The metrics table with its units in full: NLL in nats per example of the modality ("nats/image"),
    and for text the bits per character beside the bits per token (the figure that compares across
    tokenizers), where the checkpoints record it and the table does not show it yet."""
    per = example_unit(modality)
    out = [(label.replace("(nats)", f"(nats/{per})"), a, b) for label, a, b in rows]
    for split in ("test", "valid"):
        label, key = f"{split} bits/char", f"{split}_bits_per_char"
        if any(r[0] == label for r in out) or not (key in metrics_a or key in metrics_b):
            continue
        cells = tuple(f"{m[key]:.4f}" if isinstance(m.get(key), (int, float)) else "-" for m in (metrics_a, metrics_b))
        after = next((i for i, r in enumerate(out) if r[0].startswith(f"{split} bits/")), len(out) - 1)
        out.insert(after + 1, (label, *cells))
    return out
