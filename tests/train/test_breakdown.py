"""Test accuracy per group of graphs (a dataset's Breakdown): counting, train_model, compare, train."""

import csv
import json

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from hipool import ModelConfig
from hipool.compare import CompareSettings, Comparison
from hipool.data import Breakdown, GraphDataset
from hipool.train import command
from hipool.train.command import TrainRequest, run_train
from hipool.train.loop import evaluate, group_accuracy
from hipool.train.runner import check_classification, train_model
from hipool.train.settings import TrainSettings
from tests.train.harness_data import toy_graphs

NAMES = ("a", "b", "c", "d")  # "c": two graphs only, so some test folds lack it; "d": no graph at all
COLUMNS = [
    "model",
    "folds",
    "test_acc_mean",
    "test_acc_std",
    "holdout_acc_mean",
    "selected",
    "epochs_mean",
    "best_epoch_mean",
    "parameters",
    "seconds_per_epoch",
    "peak_mb",
    "unit_seconds",
]  # before breakdowns


def grouped(n: int = 48, breakdown: bool = True) -> GraphDataset:
    """The harness toy graphs with a ``group`` attribute: 0/1 alternating in pairs, 2 for graphs 0 and 1."""
    graphs = toy_graphs(n)
    for i, g in enumerate(graphs):
        g.group = torch.tensor([2 if i < 2 else (i // 2) % 2])
    return GraphDataset(
        "grouped", graphs, num_features=4, num_classes=2, breakdown=Breakdown("group", NAMES) if breakdown else None
    )


class FirstNodeSign(torch.nn.Module):
    """Predicts class 1 exactly when the first feature of the graph's first node is positive."""

    def forward(self, data, return_hierarchy=False):
        first = data.x[data.ptr[:-1], 0]
        logits = torch.stack([torch.zeros_like(first), first], -1)
        return (logits, None) if return_hierarchy else logits

    def aux_loss(self, hierarchy, data=None):
        return None


def test_group_accuracy_counts_against_a_hand_computed_reference():
    # (first feature, class, group): predictions 1, 0, 1 | 0, 1, 0, 1 against classes 1, 0, 0 | 0, 1, 1, 1
    specs = [(1.0, 1, 0), (-1.0, 0, 0), (2.0, 0, 0), (-1.0, 0, 1), (3.0, 1, 1), (-2.0, 1, 1), (1.0, 1, 1)]
    graphs = [
        Data(
            x=torch.tensor([[v], [0.0]]),
            edge_index=torch.tensor([[0, 1], [1, 0]]),
            y=torch.tensor([y]),
            group=torch.tensor([g]),
        )
        for v, y, g in specs
    ]
    loader = DataLoader(graphs, batch_size=3)  # groups spread over batches
    model = FirstNodeSign()
    assert group_accuracy(model, loader, "group", 3) == [(2, 3), (3, 4), (0, 0)]
    loss, acc, counts = evaluate(model, loader, groups=("group", 3))  # one pass: loss, accuracy and groups
    assert acc == 5 / 7 and counts == [(2, 3), (3, 4), (0, 0)]
    logits = torch.tensor([[0.0, v] for v, _, _ in specs])
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([y for _, y, _ in specs]))
    assert loss == pytest.approx(float(expected), rel=1e-6)
    assert evaluate(model, loader)[2] == []


def test_train_model_reports_accuracy_per_group():
    ds = grouped()
    test_idx = list(range(0, 48, 4)) + [1]  # graph 1 is in group c
    rest = [i for i in range(48) if i not in test_idx]
    config = ModelConfig(hidden=8, schedule=[0.5])
    _, _, run = train_model(ds, config, TrainSettings(epochs=2, batch_size=8), rest[:28], rest[28:], test_idx)
    groups = run.test_groups
    assert list(groups) == list(NAMES)
    assert [groups[g]["count"] for g in NAMES] == [sum(int(ds[i].group) == v for i in test_idx) for v in range(4)]
    assert groups["d"] == {"acc": None, "count": 0}
    correct = sum(round(r["acc"] * r["count"]) for r in groups.values() if r["count"])
    assert correct / len(test_idx) == run.test_acc  # the groups add up to the overall accuracy
    weighted = sum(r["acc"] * r["count"] for r in groups.values() if r["count"]) / len(test_idx)
    assert weighted == pytest.approx(run.test_acc, abs=1e-12)
    assert run.to_dict()["test_groups"] == groups
    _, _, plain = train_model(grouped(breakdown=False), config, TrainSettings(epochs=1), rest[:28], rest[28:], test_idx)
    assert plain.test_groups is None


def test_bad_group_attributes_are_named():
    ds = grouped(12)
    del ds.graphs[5].group
    with pytest.raises(ValueError, match="dataset grouped: graph 5 has no attribute 'group'"):
        check_classification(ds)
    ds = grouped(12)
    ds.graphs[3].group = torch.tensor([7])
    with pytest.raises(ValueError, match=r"graph 3 has attribute 'group' = 7, outside 0\.\.3"):
        check_classification(ds)
    with pytest.raises(ValueError, match=r"graph 3 has attribute 'group' = 7"):  # before any training
        train_model(ds, ModelConfig(hidden=4), TrainSettings(epochs=1), [0, 1, 2, 4], [6, 7], [3, 8])
    ds.graphs[3].group = torch.tensor([0.5])
    with pytest.raises(ValueError, match=r"graph 3 has attribute 'group' = tensor\(\[0.5000\]\); expected one"):
        check_classification(ds)


def _compare(ds, out):
    s = CompareSettings(
        "grouped", ["global"], out, folds=3, repeats=2, progress=False, train=TrainSettings(epochs=1, batch_size=16)
    )
    return Comparison(s, ds, log=lambda *_: None).run()


def test_compare_summarizes_accuracy_per_group(tmp_path):
    ds = grouped()
    out = tmp_path / "cmp"
    summary = _compare(ds, out)
    folds = json.loads((out / "folds.json").read_text())["splits"]
    fold_rows = list(csv.DictReader(open(out / "folds.csv")))
    assert [r["fold"] for r in fold_rows] == ["0", "1", "2"]
    for fold, r in zip(folds, fold_rows):
        units = [
            json.loads((out / f"units/global/fold{int(r['fold']):02d}/final-c00-r{k}.json").read_text())
            for k in range(2)
        ]
        for g in NAMES:
            accs = [u["result"]["test_groups"][g]["acc"] for u in units]
            has = any(ds[i].group.item() == NAMES.index(g) for i in fold["test"])
            assert (r[f"acc_{g}"] != "") == has
            if has:
                assert float(r[f"acc_{g}"]) == pytest.approx(sum(accs) / 2, abs=1e-5)
    assert sum(r["acc_c"] == "" for r in fold_rows) >= 1 and any(r["acc_c"] for r in fold_rows)
    row = next(csv.DictReader(open(out / "summary.csv")))
    assert row["acc_d_mean"] == row["acc_d_std"] == "nan"
    c = [float(r["acc_c"]) for r in fold_rows if r["acc_c"]]
    assert float(row["acc_c_mean"]) == pytest.approx(sum(c) / len(c), abs=1e-5)
    assert list(row) == COLUMNS + [f"acc_{g}_{s}" for g in NAMES for s in ("mean", "std")]
    assert list(fold_rows[0])[-4:] == [f"acc_{g}" for g in NAMES]
    written = json.loads((out / "summary.json").read_text())  # standard JSON: NaN is written as null
    assert written["rows"][0]["acc_d_mean"] is None and written["rows"][0]["acc_a_mean"] >= 0
    md = (out / "summary.md").read_text()
    assert "## Accuracy per group" in md and "| model | a | b | c | d | overall |" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| global |") and ln.endswith("|") and "–" in ln)
    assert line.count(" ± ") == 4  # a, b, c and overall; d has no test graph in any fold

    # unit files from before breakdowns (no test_groups) still load: a resumed comparison
    for p in (out / "units").rglob("*.json"):
        unit = json.loads(p.read_text())
        del unit["result"]["test_groups"]
        p.write_text(json.dumps(unit))
    again = _compare(ds, out)
    assert all(v != v for k, v in again["rows"][0].items() if k.startswith("acc_"))  # all NaN
    assert again["rows"][0]["test_acc_mean"] == summary["rows"][0]["test_acc_mean"]


def test_compare_without_breakdown_has_no_group_columns(tmp_path):
    out = tmp_path / "plain"
    summary = _compare(grouped(breakdown=False), out)
    assert list(summary["rows"][0]) == COLUMNS
    assert next(csv.reader(open(out / "summary.csv"))) == COLUMNS
    assert not any(k.startswith("acc_") for r in summary["folds"] for k in r)
    assert "Accuracy per" not in (out / "summary.md").read_text()


def test_hipool_train_reports_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(command, "load_dataset", lambda *a, **k: grouped())
    lines = []
    result = run_train(
        TrainRequest("grouped", tmp_path / "run", model="global", train={"epochs": 1}, test=0.25, progress=False),
        log=lines.append,
    )
    groups = json.loads((tmp_path / "run" / "result.json").read_text())["test_groups"]
    assert groups == result["test_groups"] and sum(r["count"] for r in groups.values()) == 12
    assert f"(a {groups['a']['acc']:.3f} n={groups['a']['count']}, b " in lines[-1] and "d – n=0)" in lines[-1]


def _ddp_worker(rank: int, world: int, init: str, out: str) -> None:
    from torch import distributed as dist

    from hipool.train.runner import make_loader

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        ds = grouped(30)
        ds.graphs[7].x[0, 0] = -5.0  # some graph of class 1 predicted wrong
        loader = make_loader(list(ds), 4, shuffle=False)  # this process's share: graphs rank::world
        torch.save(group_accuracy(FirstNodeSign(), loader, "group", 4), f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_group_counts_are_summed_over_ddp_processes(tmp_path):
    ds = grouped(30)
    ds.graphs[7].x[0, 0] = -5.0
    alone = group_accuracy(FirstNodeSign(), DataLoader(list(ds), batch_size=4), "group", 4)
    assert sum(n for _, n in alone) == 30 and alone[3] == (0, 0)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, f"file://{tmp_path}/pg", str(tmp_path / "counts")), nprocs=2)
    assert [torch.load(tmp_path / f"counts.{r}") for r in range(2)] == [alone, alone]


def test_breakdown_names_a_graphs_group():
    b = Breakdown("defect_level", ("pass", "component", "block"))
    assert b.name(2) == "block" and b.name(7) == "7" and b.name(-1) == "-1"
    assert b.of(Data(defect_level=torch.tensor([1]))) == "component"
    assert b.of(Data(y=torch.tensor([0]))) is None
