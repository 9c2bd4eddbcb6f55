"""Plug-ins through entry points: every built-in is found through its own, and a third-party
distribution, built here in a temporary folder, adds a model kind that trains, samples, is listed
and passes ``arstudio.testing``; broken plug-ins are reported by name while the rest load, and a
removed distribution's kinds and data sets go with it.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from arstudio.cli import main
from arstudio.core import plugins, registry
from arstudio.core.formats import checkpoint_formats
from arstudio.core.modality import modalities
from arstudio.data.datasets import UnknownDatasetError, dataset_modality, datasets
from arstudio.data.datasets import reload as reload_datasets
from arstudio.testing import (
    build_tiny,
    check_causality_by_gradient,
    check_causality_by_perturbation,
    check_kind,
    check_model,
)

ROOT = Path(__file__).resolve().parents[1]

TOY_MODEL = '''
"""toyar.model: a windowed logistic model of binary images, each pixel a logistic regression on the
``window`` pixels before it in raster order; its cursor keeps the running logits of every pixel."""

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from arstudio.core import ARModel, Bernoulli, Cursor, Layout, ModelSpec, ValueSpace
from arstudio.core.registry import modality_of, register


@dataclass
class ToyConfig:
    shape: list = field(default_factory=lambda: [1, 8, 8])
    window: int = 4
    values: str = "binary"
    levels: int = 2


@register("toy", modality="image", title="Toy (windowed logistic regression)", default_data="digits",
          default_config={"shape": [1, 8, 8], "window": 4}, tiny_config={"shape": [1, 3, 3], "window": 3},
          train_defaults={"steps": 50, "batch_size": 32, "lr": 1e-2})
class ToyModel(ARModel):
    config_class = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        if config.values != "binary":
            raise ValueError("toy models binary pixels")
        shape = [int(s) for s in config.shape]
        self.spec = ModelSpec("toy", asdict(config), Layout(modality_of("toy"), tuple(shape)), ValueSpace("binary"))
        d = self.spec.layout.length
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))
        band = torch.tril(torch.ones(d, d), diagonal=-1) - torch.tril(torch.ones(d, d), diagonal=-1 - config.window)
        self.register_buffer("mask", band, persistent=False)

    def dists(self, x, cond=None):
        return Bernoulli(self.bias + x.float() @ (self.weight * self.mask).T)  # [B, D]

    def start(self, batch, cond=None):
        return ToyCursor(self, batch, cond)


class ToyCursor(Cursor):
    def __init__(self, model, batch, cond=None):
        super().__init__(model, batch, cond)
        self.a = model.bias.detach().expand(batch, -1).clone()  # running logits of every pixel
        self.w = (model.weight * model.mask).detach()

    def dist(self):
        return Bernoulli(self.a[:, self.t])

    def _update(self, x_t):
        self.a += x_t.float()[:, None] * self.w[:, self.t]

    def _select(self, rows):
        self.a = self.a[rows]
'''

BROKEN = '''
raise RuntimeError("toybroken.exploding fails on import")
'''

FINE = '''
class Plain:
    """A class that is neither a registered model kind, a data set nor a Modality."""
'''

TOY_DATA = '''
from arstudio.data.datasets import register_dataset


@register_dataset("toydata", modality="image")
def toydata():
    raise NotImplementedError("only listed here, never built")
'''


def write_distribution(root: Path, name: str, files: dict[str, str], entry_points_txt: str) -> Path:
    """A distribution as pip leaves it on sys.path: the package and its ``<name>-0.1.dist-info``."""
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for module, text in files.items():
        (pkg / f"{module}.py").write_text(text)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points_txt)
    return root


def rescan() -> None:
    """What the studio does after a distribution is installed or removed: every group scanned again."""
    plugins.reset()  # modalities and formats read the plug-ins' cache on every lookup
    registry.reload()
    reload_datasets()


@pytest.fixture
def install() -> Iterator[Callable[[Path], Callable[[], None]]]:
    """Put a distribution folder on sys.path and rescan; returns its uninstall (which runs at the end anyway)."""
    added: list[str] = []

    def remove() -> None:
        for p in added:
            while p in sys.path:
                sys.path.remove(p)
        added.clear()
        for mod in [m for m in sys.modules if m.split(".")[0] in ("toyar", "toybroken")]:
            del sys.modules[mod]
        rescan()

    def add(root: Path) -> Callable[[], None]:
        sys.path.insert(0, str(root))
        added.append(str(root))
        rescan()
        return remove

    yield add
    remove()


def declared(group: str) -> dict[str, str]:
    """The entry points arstudio's pyproject.toml declares for ``group``: name -> value."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["entry-points"][group])


def test_every_built_in_is_found_through_its_entry_point() -> None:
    for group in plugins.GROUPS:
        found = {ep.name: ep.value for ep in entry_points(group=group)}
        for name, value in declared(group).items():
            assert found.get(name) == value, (f"{group} {name} = {value} is not installed as declared "
                                              "(reinstall: pip install -e .)")
    kinds = {k.name: k for k in registry.kinds()}
    for name, value in declared("arstudio.models").items():
        module, _, attr = value.partition(":")
        assert kinds[name].cls is getattr(importlib.import_module(module), attr)
    assert set(declared("arstudio.datasets")) <= set(datasets())
    assert set(declared("arstudio.modalities")) <= set(modalities())
    assert "gpt2-folder" in declared("arstudio.formats")
    assert {f.name for f in checkpoint_formats()} >= set(declared("arstudio.formats"))
    assert plugins.broken() == [], [str(b) for b in plugins.broken()]


TOY_ENTRY_POINTS = "[arstudio.models]\ntoy = toyar.model:ToyModel\n"


def test_a_removed_distribution_takes_its_kinds_and_data_sets_with_it(
        tmp_path: Path, install: Callable[[Path], Callable[[], None]]) -> None:
    builtin_kinds, builtin_data = [k.name for k in registry.kinds()], datasets()
    uninstall = install(write_distribution(tmp_path / "site", "toyar", {"model": TOY_MODEL, "data": TOY_DATA},
                                           TOY_ENTRY_POINTS + "\n[arstudio.datasets]\ntoydata = toyar.data:toydata\n"))
    assert registry.get("toy").modality == "image" and dataset_modality("toydata") == "image"
    assert [k.name for k in registry.kinds()] == builtin_kinds + ["toy"] and datasets() == builtin_data + ["toydata"]
    uninstall()
    assert [k.name for k in registry.kinds()] == builtin_kinds and datasets() == builtin_data
    with pytest.raises(registry.UnknownKindError, match="toy"):
        registry.get("toy")
    with pytest.raises(UnknownDatasetError, match="toydata"):
        dataset_modality("toydata")
    assert plugins.broken() == [], [str(b) for b in plugins.broken()]


def test_a_third_party_model_kind_is_found_trains_samples_and_passes_the_checks(
        tmp_path: Path, install: Callable[[Path], Callable[[], None]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert "toy" not in {k.name for k in registry.kinds()}
    install(write_distribution(tmp_path / "site", "toyar", {"model": TOY_MODEL}, TOY_ENTRY_POINTS))
    names = [k.name for k in registry.kinds()]
    assert "toy" in names and set(declared("arstudio.models")) <= set(names)
    assert registry.get("toy").modality == "image" and plugins.broken() == []

    models = tmp_path / "user-models"
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(models))
    ckpt, png = models / "toy-digits.safetensors", tmp_path / "toy.png"
    assert main(["train", "toy", "--steps", "3", "--batch-size", "16", "--out", str(ckpt), "--device", "cpu"]) == 0
    assert main(["sample", str(ckpt), "--out", str(png), "--n", "4", "--device", "cpu"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["list"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert any(row[:1] == ["toy-digits"] and "toy" in row and "image" in row for row in listed), listed

    check_kind("toy", tmp_dir=tmp_path / "checks")  # every invariant, training included


def test_the_checks_fail_a_third_party_model_that_breaks_an_invariant(
        tmp_path: Path, install: Callable[[Path], Callable[[], None]]) -> None:
    leaky = TOY_MODEL.replace("diagonal=-1)", "diagonal=0)", 1)  # the band now includes the pixel itself
    install(write_distribution(tmp_path / "site", "toyar", {"model": leaky}, TOY_ENTRY_POINTS))
    model, ds = build_tiny("toy")
    for check in (check_causality_by_perturbation, check_causality_by_gradient):
        with pytest.raises(AssertionError, match="toy ordering 0: .*not causal"):
            check(model)
    with pytest.raises(AssertionError, match="toy"):
        check_model(model, data=ds)


BROKEN_ENTRY_POINTS = """[arstudio.models]
exploding = toybroken.exploding:Model
missing = toybroken.fine:NoSuchThing
unregistered = toybroken.fine:Plain

[arstudio.datasets]
explodingdata = toybroken.exploding:build
unregistereddata = toybroken.fine:Plain

[arstudio.modalities]
notamodality = toybroken.fine:Plain
"""


def test_broken_plug_ins_are_reported_by_name_and_the_rest_load(
        tmp_path: Path, install: Callable[[Path], Callable[[], None]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    install(write_distribution(tmp_path / "site", "toybroken", {"exploding": BROKEN, "fine": FINE},
                               BROKEN_ENTRY_POINTS))
    names = {k.name for k in registry.kinds()}
    assert set(declared("arstudio.models")) <= names
    assert not names & {"exploding", "missing", "unregistered"}
    assert set(declared("arstudio.modalities")) == set(modalities())
    data = set(datasets())
    assert set(declared("arstudio.datasets")) <= data and not data & {"explodingdata", "unregistereddata"}
    broken = {b.name: b for b in plugins.broken()}
    assert {"exploding", "missing", "unregistered", "notamodality", "explodingdata", "unregistereddata"} <= set(broken)
    assert "fails on import" in broken["explodingdata"].error and broken["explodingdata"].group == "arstudio.datasets"
    assert "register_dataset" in broken["unregistereddata"].error
    with pytest.raises(UnknownDatasetError, match="explodingdata"):
        dataset_modality("explodingdata")
    assert "fails on import" in broken["exploding"].error and broken["exploding"].group == "arstudio.models"
    assert "NoSuchThing" in broken["missing"].error
    assert "register" in broken["unregistered"].error
    assert "exploding" in str(broken["exploding"]) and "toybroken.exploding:Model" in str(broken["exploding"])
    with pytest.raises(registry.UnknownKindError, match="exploding"):
        registry.get("exploding")
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(tmp_path / "user-models"))
    capsys.readouterr()
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "exploding" in out and "missing" in out, out
