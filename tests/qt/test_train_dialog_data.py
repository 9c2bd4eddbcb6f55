"""The training dialog offers each kind only the data sets of its modality."""

from __future__ import annotations

from arstudio.core.registry import kinds
from arstudio.data.datasets import datasets


def test_each_kind_is_offered_only_its_modality_data_sets(qtbot) -> None:
    from arstudio.qt.checkpoints.train_dialog import TrainDialog

    d = TrainDialog()
    qtbot.addWidget(d)
    try:
        for k in kinds():
            d.kind.setCurrentIndex(d.kind.findData(k.name))
            offered = [d.data.itemData(i) for i in range(d.data.count())]
            named = [o for o in offered if o in datasets()]
            assert named == datasets(k.modality), k.name
            assert d.data.currentData() == k.default_data, k.name
            folder_offered = len(offered) > len(named)
            assert folder_offered == (k.modality == "image"), k.name
    finally:
        d.shutdown()
