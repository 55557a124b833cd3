"""The pooler registry (hipool.nn.registry): its rules, the README table generated from it, the
CLI that prints it, a pooler added in one place reaching the config, models and presets, and
the package's import graph without circles."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import torch

from hipool import ModelConfig
from hipool.cli import main
from hipool.nn import REGISTRY, PoolerSpec, TopKPooling, build_model
from hipool.nn.registry import FAMILIES, Registry, markdown_table
from hipool.presets import model_names, preset

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BEGIN = re.compile(r"^<!-- poolers:begin.*-->\s*$", re.M)
END = re.compile(r"^<!-- poolers:end -->\s*$", re.M)


def test_the_readme_pooler_table_is_the_registrys():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = BEGIN.search(text), END.search(text)
    assert begin and end, "README.md lost its <!-- poolers:begin ... --> / <!-- poolers:end --> markers"
    table = text[begin.end() : end.start()].strip()
    assert table == markdown_table().strip(), (
        "README.md's pooler table is out of date: replace it with the output of `hipool poolers --markdown`"
    )


def test_every_spec_is_complete_and_consistent():
    assert {s.family for s in REGISTRY.values()} == set(FAMILIES)
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.summary and spec.paper
        assert isinstance(spec.build(4, spec.example_entry(), {}), torch.nn.Module)
        assert set(spec.losses) == set(getattr(spec.cls, "LOSSES", ()))
        assert "in_channels" not in spec.options and "ratio" not in spec.options
    assert REGISTRY["mincut"].needs_count and REGISTRY["edgepool"].fixed_entry == 0.5
    assert REGISTRY["given"].fixed_entry == "given" and not REGISTRY["topk"].needs_count
    # the options come from the constructors: SAG's GNN class is offered by name
    assert REGISTRY["sag"].options == ("gnn", "min_score", "multiplier", "nonlinearity")
    assert REGISTRY["graclus"].options == ("reduce", "seed")
    assert {"temp", "assign", "mode", "edge_topk"} <= set(REGISTRY["mincut"].options)
    # weighted: the pooler computes edge weights (ASAP only carries the ones it is given)
    assert {"diffpool", "mincut", "dmon", "kmis", "ndp"} <= {n for n, s in REGISTRY.items() if s.weighted}
    assert not {"topk", "sag", "asap", "edgepool", "graclus", "given"} & {n for n, s in REGISTRY.items() if s.weighted}
    assert "link_norm" in REGISTRY["diffpool"].options and "link_norm" not in REGISTRY["dmon"].options


def test_bad_specs_and_names_are_refused():
    with pytest.raises(ValueError, match=r"'family' must be one of selection, clustering"):
        PoolerSpec("x", TopKPooling, "select", "ratio", "s", "p", entry_arg="ratio")
    with pytest.raises(ValueError, match=r"a 'ratio' entry is passed to the class"):
        PoolerSpec("x", TopKPooling, "selection", "ratio", "s", "p")
    reg = Registry()
    spec = PoolerSpec("x", TopKPooling, "selection", "ratio", "s", "p", entry_arg="ratio")
    reg.register(spec)
    with pytest.raises(ValueError, match=r"a pooler named 'x' is registered already"):
        reg.register(spec)
    for bad in ("none", "Top-K", ""):
        with pytest.raises(ValueError, match=r"a pooler name is a lower-case identifier"):
            reg.register(PoolerSpec(bad, TopKPooling, "selection", "ratio", "s", "p", entry_arg="ratio"))
    with pytest.raises(KeyError, match=r"unknown pooler 'topK'; did you mean 'topk'\?"):
        REGISTRY["topK"]
    with pytest.raises(ValueError, match=r"'pool_options' \['bogus'\] do not apply to topk; allowed: min_score"):
        REGISTRY["topk"].build(4, 0.5, {"bogus": 1})
    with pytest.raises(ValueError, match=r"asap's 'gnn' must be one of graphconv, gcn, null, got 'gat'"):
        REGISTRY["asap"].build(4, 0.5, {"gnn": "gat"})
    with pytest.raises(ValueError, match=r"edgepool takes the schedule entry 0.5 only, got 0.3"):
        REGISTRY["edgepool"].build(4, 0.3, {})


def test_a_pooler_registered_in_one_place_reaches_config_models_presets_and_cli(monkeypatch, capsys):
    """What 'adding a pooler is two files' means: a spec on the registry is all the rest needs."""

    class HalfTopK(TopKPooling):
        """A new selection pooler: top-k with a fixed multiplier."""

        def __init__(self, in_channels, ratio=0.5, *, gain: float = 2.0):
            super().__init__(in_channels, ratio, multiplier=gain)

    spec = PoolerSpec("halftopk", HalfTopK, "selection", "ratio", "top-k with a gain", "(a test)", entry_arg="ratio")
    monkeypatch.setitem(REGISTRY._specs, "halftopk", spec)
    assert spec.options == ("gain", "min_score", "multiplier", "nonlinearity")  # its bases' too
    config = ModelConfig.from_dict(
        {"pool": "halftopk", "schedule": [0.5, 0.5], "hidden": 8, "pool_options": {"gain": 3.0}}
    )
    model = build_model(config, 4, 2)
    assert isinstance(model.pools[0], HalfTopK) and model.pools[0].multiplier == 3.0
    x, e = torch.randn(6, 4), torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    assert model(x, e).shape == (1, 2)
    assert "halftopk" in model_names() and preset("gine-halftopk").pool == "halftopk"
    with pytest.raises(ValueError, match=r"'pool_options' \['gian'\] do not apply to halftopk; allowed: gain"):
        ModelConfig.from_dict({"pool": "halftopk", "pool_options": {"gian": 3.0}})
    assert main(["poolers", "--json"]) == 0
    assert "halftopk" in [row["name"] for row in json.loads(capsys.readouterr().out)]


def test_a_config_holds_plain_options_only():
    """The API's pooler classes take functions (EdgePool's edge_score_method); a config, which
    run folders store as YAML and read back, takes what YAML holds."""
    with pytest.raises(ValueError, match=r"'pool_options.edge_score_method' must be plain data .* got "):
        ModelConfig(pool="edgepool", pool_options={"edge_score_method": torch.tanh})
    with pytest.raises(ValueError, match=r"'pool_options.topk.nonlinearity' must be plain data"):
        ModelConfig(pool="topk", pool_options={"topk": {"nonlinearity": torch.sigmoid}})
    assert ModelConfig(pool="edgepool", pool_options={"edge_score_method": "tanh"}).pool == "edgepool"
    for bad in (None, 5, "relu"):  # a config names one of EdgePool's score functions
        with pytest.raises(ValueError, match=r"edgepool's 'edge_score_method' must be one of softmax, tanh, sigmoid"):
            ModelConfig(pool="edgepool", pool_options={"edge_score_method": bad})


def test_hipool_poolers_prints_the_registry(capsys):
    assert main(["poolers"]) == 0
    out = capsys.readouterr().out
    for name, spec in REGISTRY.items():
        assert re.search(rf"^{name}\s+{spec.family}\s+{spec.entry}\s", out, re.M)
    assert main(["poolers", "--family", "clustering", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == REGISTRY.family("clustering")
    assert rows[0]["losses"] == list(REGISTRY[rows[0]["name"]].losses)
    assert main(["poolers", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()


def _module_imports(path: Path, package: str, modules) -> set:
    """The hipool modules a module imports anywhere (at module level or inside a function: an
    import deferred into a function still makes two modules depend on each other), resolved;
    ``from X import name`` counts ``X.name`` when that is a module, else ``X``.  ``if TYPE_CHECKING``
    blocks do not count."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {m for m in found if m.startswith("hipool")}


def test_a_model_after_a_pooler_without_weights_does_not_warn_about_them():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_model(preset("gin-asap"), 4, 2)
        build_model(preset("gin-edgepool"), 4, 2)
    with pytest.warns(UserWarning, match="conv 'gin' ignores edge weights, so the convs after mincut"):
        build_model(preset("gin-mincut"), 4, 2)


def test_import_hipool_does_not_load_the_poolers_or_pyg():
    """The record and the hierarchy need torch only; PyG (about 2 s to import) and the poolers
    load with the config or hipool.nn."""
    import subprocess
    import sys

    code = (
        "import sys, hipool; from hipool import Hierarchy, PoolOutput; "
        "assert 'torch_geometric' not in sys.modules and 'hipool.config' not in sys.modules; "
        "hipool.ModelConfig; assert 'hipool.nn.registry' in sys.modules; "
        "import hipool.nn; hipool.nn.models.build_model"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_package_imports_without_circles():
    modules = {}
    for path in (SRC / "hipool").rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = name if rel.name == "__init__" else name.rpartition(".")[0]
        modules[name] = (path, package)
    graph = {}
    for name, (path, package) in modules.items():
        # a package's __init__ re-exports its modules; the modules' edges are what can circle
        graph[name] = {m for m in _module_imports(path, package, modules) if m in modules and m != name} - {"hipool"}
    state, stack = {}, []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep) :] + [dep]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if dep not in state:
                walk(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node)


def test_layouts_say_how_each_pooler_holds_a_graph():
    by = {n: s.layout for n, s in REGISTRY.items()}
    assert {n for n, lay in by.items() if lay == "sparse or dense"} == {
        "diffpool",
        "mincut",
        "dmon",
        "justbalance",
        "hosc",
        "acc",
        "eigenpool",
        "bnpool",
        "nmf",
    }
    assert {n for n, lay in by.items() if lay == "dense per graph"} == {"ndp"}
    assert all(REGISTRY[n].row()["layout"] == by[n] for n in REGISTRY)
    assert REGISTRY["topk"].row()["learned"] and not REGISTRY["sep"].row()["learned"]
    with pytest.raises(ValueError, match=r"'layout' must be one of sparse, sparse or dense, dense per graph"):
        PoolerSpec("x", TopKPooling, "selection", "ratio", "s", "p", entry_arg="ratio", layout="dense")
