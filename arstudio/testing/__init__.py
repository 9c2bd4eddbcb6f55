"""The invariant checks every model passes, importable by plug-ins (GUI-free; no pytest needed).

Each ``check_*`` function checks one model and raises ``AssertionError`` with a message that names
the kind, the ordering and the step. A plug-in's test suite can run them all on one kind::

    from arstudio.testing import check_kind

    def test_my_kind_keeps_the_invariants():
        check_kind("mykind")

or one at a time on a model it built (``build_tiny(name)`` gives a tiny random one):

- ``check_incremental_equals_parallel``: the cursor's Dist at step t scores x_t as ``log_prob`` does;
- ``check_causality_by_perturbation``: changing x_s, s >= t, leaves steps <= t unchanged;
- ``check_causality_by_gradient``: no gradient from x_s, s >= t, to step t (float input, or the
  output of the input embedding for token models); it raises rather than skip a model;
- ``check_fast_cursor_equals_naive``: the model's cursor samples what ``NaiveCursor`` samples;
- ``check_prefill`` and ``check_select``: the cursor's shortcuts equal plain pushes;
- ``check_checkpoint_round_trip``: save, load, the same ``log_prob``;
- ``check_modality_agreement``: registry, layout, data set and checkpoint name the same, installed modality;
- ``check_training_lowers_loss``: a few training steps lower the held-out NLL.
"""

from arstudio.core.protocol import ARModel
from arstudio.testing.build import assert_same_dist, build_tiny, random_cond, random_data
from arstudio.testing.cursors import check_prefill, check_select
from arstudio.testing.gradient import check_causality_by_gradient, input_embeddings
from arstudio.testing.invariants import (
    check_causality_by_perturbation,
    check_checkpoint_round_trip,
    check_fast_cursor_equals_naive,
    check_incremental_equals_parallel,
    check_training_lowers_loss,
)
from arstudio.testing.kind import check_kind, check_modality_agreement, check_model


def check_causality(model: ARModel) -> None:
    """Invariant 2 both ways: by perturbation and by gradient."""
    check_causality_by_perturbation(model)
    check_causality_by_gradient(model)


__all__ = [
    "assert_same_dist", "build_tiny", "check_causality", "check_causality_by_gradient", "check_causality_by_perturbation",
    "check_checkpoint_round_trip", "check_fast_cursor_equals_naive", "check_incremental_equals_parallel",
    "check_kind", "check_modality_agreement", "check_model", "check_prefill", "check_select",
    "check_training_lowers_loss", "input_embeddings", "random_cond", "random_data",
]
