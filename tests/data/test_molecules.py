"""Tests of the SMILES loader, functional groups and scaffold split (hipool.data.molecules)."""

import csv
import math
from pathlib import Path

import pytest
import torch

pytest.importorskip("rdkit")

from hipool.data.base import LEVEL_LABELS  # noqa: E402
from hipool.data.molecules import (  # noqa: E402
    ATOM_FEATURE_NAMES,
    BOND_FEATURE_NAMES,
    NUM_ATOM_FEATURES,
    NUM_BOND_FEATURES,
    load_molecules,
    murcko_scaffold,
    random_split,
    scaffold_split,
    smiles_to_graph,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
MOLECULES = SHARED / "molecules"

ATOM = {name: i for i, name in enumerate(ATOM_FEATURE_NAMES)}
BOND = {name: i for i, name in enumerate(BOND_FEATURE_NAMES)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _groups(smiles):
    """``{type: [sorted atoms of each level-1 group of that type]}``."""
    data = smiles_to_graph(smiles)
    level = data[LEVEL_LABELS].view(-1)
    out = {}
    for g, kind in enumerate(data.group_names):
        out.setdefault(kind, []).append(torch.nonzero(level == g).view(-1).tolist())
    return out


# -- graphs and features ------------------------------------------------------------


@pytest.mark.parametrize(
    "smiles, atoms, bonds",
    [
        ("CCO", 3, 2),
        ("c1ccccc1", 6, 6),
        ("c1ccc2ccccc2c1", 10, 11),
        ("CC(=O)O", 4, 3),
        ("c1ccccc1[N+](=O)[O-]", 9, 9),
        ("[Na+].[Cl-]", 2, 0),
    ],
)
def test_atom_and_bond_counts(smiles, atoms, bonds):
    data = smiles_to_graph(smiles)
    assert data.num_nodes == atoms
    assert data.x.shape == (atoms, NUM_ATOM_FEATURES) and data.x.dtype == torch.float32
    assert data.edge_index.shape == (2, 2 * bonds) and data.edge_index.dtype == torch.int64
    assert data.edge_attr.shape == (2 * bonds, NUM_BOND_FEATURES)
    assert data[LEVEL_LABELS].shape == (atoms, 1) and data[LEVEL_LABELS].dtype == torch.int64
    # both directions, with the same features
    pairs = {(int(a), int(b)): i for i, (a, b) in enumerate(data.edge_index.t())}
    for (a, b), i in pairs.items():
        assert torch.equal(data.edge_attr[i], data.edge_attr[pairs[(b, a)]])
    # one-hot blocks: every atom has exactly one value in each
    for block in ("element", "degree", "formal_charge", "hybridization", "num_hs"):
        cols = [i for name, i in ATOM.items() if name.startswith(block + "=")]
        assert torch.all(data.x[:, cols].sum(1) == 1)
    assert data.smiles == smiles


def test_feature_values():
    benzene = smiles_to_graph("c1ccccc1")
    assert torch.all(benzene.x[:, ATOM["aromatic"]] == 1)
    assert torch.all(benzene.x[:, ATOM["in_ring"]] == 1)
    assert torch.all(benzene.x[:, ATOM["element=C"]] == 1)
    assert torch.all(benzene.x[:, ATOM["hybridization=SP2"]] == 1)
    assert torch.all(benzene.x[:, ATOM["num_hs=1"]] == 1)
    assert torch.all(benzene.x[:, ATOM["degree=2"]] == 1)
    assert torch.all(benzene.edge_attr[:, BOND["bond_type=aromatic"]] == 1)
    assert torch.all(benzene.edge_attr[:, BOND["conjugated"]] == 1)
    assert torch.all(benzene.edge_attr[:, BOND["in_ring"]] == 1)

    nitro = smiles_to_graph("c1ccccc1[N+](=O)[O-]")
    x = nitro.x
    assert x[6, ATOM["element=N"]] == 1 and x[6, ATOM["formal_charge=1"]] == 1
    assert x[8, ATOM["element=O"]] == 1 and x[8, ATOM["formal_charge=-1"]] == 1
    assert x[7, ATOM["formal_charge=0"]] == 1
    assert torch.all(x[6:, ATOM["aromatic"]] == 0) and torch.all(x[6:, ATOM["in_ring"]] == 0)

    ethanol = smiles_to_graph("CCO")
    assert ethanol.x[0, ATOM["num_hs=3"]] == 1 and ethanol.x[2, ATOM["num_hs=1"]] == 1
    assert torch.all(ethanol.x[:, ATOM["hybridization=SP3"]] == 1)
    assert torch.all(ethanol.edge_attr[:, BOND["bond_type=single"]] == 1)

    odd = smiles_to_graph("*C[Hg]C#N")
    assert odd.x[0, ATOM["element=other"]] == 1 and odd.x[2, ATOM["element=other"]] == 1
    triple = odd.edge_index.t().tolist().index([3, 4])
    assert odd.edge_attr[triple, BOND["bond_type=triple"]] == 1


# -- functional groups ---------------------------------------------------------------


@pytest.mark.parametrize(
    "smiles, expected",
    [
        ("CC(=O)O", {"carboxyl": [[1, 2, 3]]}),
        ("CC(=O)OC", {"ester": [[1, 2, 3]]}),
        ("CCO", {"hydroxyl": [[2]]}),
        ("CCOCC", {"ether": [[2]]}),
        ("c1ccccc1[N+](=O)[O-]", {"aromatic ring": [[0, 1, 2, 3, 4, 5]], "nitro": [[6, 7, 8]]}),
        ("c1ccc2ccccc2c1", {"aromatic ring": [list(range(10))]}),
        ("Clc1ccccc1", {"aromatic ring": [[1, 2, 3, 4, 5, 6]], "halide": [[0]]}),
        ("Nc1ccccc1", {"aromatic ring": [[1, 2, 3, 4, 5, 6]], "amine": [[0]]}),
        ("CC(=O)N", {"amide": [[1, 2, 3]]}),
        ("CC(C)=O", {"carbonyl": [[1, 3]]}),
        ("CC#N", {"nitrile": [[1, 2]]}),
        ("CS(=O)(=O)C", {"sulfonyl": [[1, 2, 3]]}),
        ("CS(=O)(=O)N", {"sulfonamide": [[1, 2, 3, 4]]}),  # not split again as a sulfonyl
        ("NC(=O)N", {"amide": [[0, 1, 2, 3]]}),  # urea: two amide matches, one group
        ("C1CCNCC1", {"aliphatic ring": [list(range(6))]}),  # ring atoms stay with the ring
        ("O=C1CCCCC1", {"aliphatic ring": [list(range(7))]}),  # exocyclic C=O joins the ring
        ("C1CCC2(CC1)CC2", {"aliphatic ring": [list(range(8))]}),  # spiro: one system
        ("c1ccccc1-c1ccccc1", {"aromatic ring": [list(range(6)), list(range(6, 12))]}),
    ],
)
def test_functional_groups(smiles, expected):
    assert _groups(smiles) == expected


def test_groups_numbering_and_multi_membership():
    data = smiles_to_graph("OC(=O)c1ccc(Cl)cc1CCO")
    level = data[LEVEL_LABELS].view(-1)
    assert data.group_names == ["aromatic ring", "carboxyl", "hydroxyl", "halide"]
    assert sorted(set(level.tolist())) == [-1, 0, 1, 2, 3]  # 0..G-1, no gaps
    assert level[10].item() == -1 and level[11].item() == -1  # the CH2CH2 linker
    # the multi-membership keeps what precedence folded away
    sulfonamide = smiles_to_graph("CS(=O)(=O)N")
    assert sulfonamide.group_matches == [("sulfonamide", (1, 2, 3, 4)), ("sulfonyl", (1, 2, 3))]
    lactam = smiles_to_graph("O=C1CCCN1")
    assert ("amide", (0, 1, 5)) in lactam.group_matches
    assert lactam.group_names == ["aliphatic ring"]
    # deterministic
    again = smiles_to_graph("OC(=O)c1ccc(Cl)cc1CCO")
    assert torch.equal(again[LEVEL_LABELS], data[LEVEL_LABELS])
    assert again.group_matches == data.group_matches


def test_invalid_smiles_gives_none():
    assert smiles_to_graph("C1CC") is None
    assert smiles_to_graph("") is None


# -- the CSV loader ----------------------------------------------------------------


def test_load_single_label_and_invalid_rows(tmp_path, capfd):
    path = _write(
        tmp_path / "mini.csv",
        "Name,SMILES,active\n"
        "a,CCO,1\n"
        "b,C1CC,0\n"  # line 3: unclosed ring
        "c,c1ccccc1,0\n"
        "d,C(C)(C)(C)(C)C,1\n"  # line 5: five-valent carbon
        "e,CC(=O)O,\n"  # line 6: no label
        "f,CC#N,1\n",
    )
    ds = load_molecules(path)
    assert len(ds) == 3 and ds.name == "mini" and ds.source == str(path)
    assert [g.smiles for g in ds] == ["CCO", "c1ccccc1", "CC#N"]
    assert ds.num_classes == 2 and ds.class_names == ["0", "1"] and ds.task_names is None
    assert ds.num_features == NUM_ATOM_FEATURES
    assert ds.labels() == [1, 0, 1]
    assert all(g.y.dtype == torch.int64 and g.y.shape == (1,) for g in ds)
    notes = " | ".join(ds.notes)
    assert "skipped 2 invalid SMILES at rows 3, 5 (file line numbers)" in notes
    assert "skipped 1 row with a blank label at lines 6" in notes
    assert "'Name'" in notes  # the text column is not taken as a label
    assert "valence" not in capfd.readouterr().err.lower()  # RDKit silenced


def test_load_classes_are_mapped(tmp_path):
    path = _write(tmp_path / "c.csv", "smiles,cls\nC,5\nCC,-1\nCCC,5\nCCCC,2\n")
    ds = load_molecules(path, name="three")
    assert ds.name == "three" and ds.num_classes == 3 and ds.class_names == ["-1", "2", "5"]
    assert ds.labels() == [2, 0, 2, 1]


def test_load_multi_label_nan(tmp_path):
    path = _write(
        tmp_path / "tox.csv", "smiles,NR-AR,NR-AhR,SR-p53\nCCO,0,1,\nc1ccccc1,,,1\nCC(=O)O,,,\n"
    )  # nothing known: skipped
    ds = load_molecules(path)
    assert ds.task_names == ["NR-AR", "NR-AhR", "SR-p53"] and ds.num_tasks == 3
    assert ds.num_classes == 2 and ds.class_names is None
    y = torch.cat([g.y for g in ds])
    assert y.shape == (2, 3) and y.dtype == torch.float32
    assert y[0, :2].tolist() == [0.0, 1.0] and math.isnan(y[0, 2])
    assert torch.isnan(y[1, :2]).all() and y[1, 2] == 1
    assert "skipped 1 row with every label blank at lines 4" in ds.notes
    # a chosen subset, and a regression column
    one = load_molecules(path, label_columns="SR-p53")
    assert len(one) == 1 and one.num_classes == 1 and one.class_names == ["1"]


def test_load_regression(tmp_path):
    path = _write(tmp_path / "r.csv", "mol,logS\nCCO,0.5\nCCCC,-2.25\n")
    ds = load_molecules(path, progress=True)
    assert ds.task_names == ["logS"] and ds.num_classes == 1
    assert ds[1].y.shape == (1, 1) and ds[1].y.item() == -2.25


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="nope.csv: no such file"):
        load_molecules(tmp_path / "nope.csv")
    no_smiles = _write(tmp_path / "x.csv", "structure_id,label\n1,0\n")
    with pytest.raises(ValueError, match=r"no SMILES column.*\['structure_id', 'label'\]"):
        load_molecules(no_smiles)
    ok = _write(tmp_path / "ok.csv", "smiles,p_np,comment\nCCO,1,fine\nCC,zero,x\n")
    with pytest.raises(ValueError, match="no label column 'missing'"):
        load_molecules(ok, label_columns=["missing"])
    with pytest.raises(ValueError, match="no column 'SMILES_X'"):
        load_molecules(ok, smiles_column="SMILES_X")
    with pytest.raises(ValueError, match=r"ok\.csv:3: label column 'p_np' holds 'zero'"):
        load_molecules(ok, label_columns="p_np")
    with pytest.raises(ValueError, match="no numeric label column"):
        load_molecules(ok)


def test_quoted_header_and_line_numbers(tmp_path):
    path = tmp_path / "q.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["smiles", "Neoplasms, benign", "other"])
        w.writerows([["CCO", 1, 0], ["C1CC", 0, 1], ["CN", 0, 0]])
    ds = load_molecules(path)
    assert ds.task_names == ["Neoplasms, benign", "other"] and len(ds) == 2
    assert any("at rows 3 " in n for n in ds.notes)


# -- splits -----------------------------------------------------------------------


SPLIT_SMILES = (
    ["c1ccccc1" + s for s in ("C", "O", "N", "Cl", "CC", "CO", "CN", "F", "Br", "I")]
    + ["C1CCCCC1" + s for s in ("C", "O", "N", "Cl", "CC")]
    + ["c1ccc2ccccc2c1" + s for s in ("C", "O", "N")]
    + ["c1ccncc1" + s for s in ("C", "O")]
    + ["CCO", "CCCC", "CC(=O)O", "CCN", "CCCl"]
    + ["C1CC1", "C1CCC1C", "c1ccoc1", "c1ccsc1", "C1CCNC1"]
)


def _check_scaffold_split(parts, smiles, fractions):
    n = len(smiles)
    assert sorted(i for p in parts for i in p) == list(range(n))
    scaffolds = [{murcko_scaffold(smiles[i]) for i in p} for p in parts]
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            assert not scaffolds[a] & scaffolds[b]
    for p, f in zip(parts, fractions):
        assert abs(len(p) - f * n) <= 0.12 * n


def test_scaffold_split_deterministic():
    parts = scaffold_split(SPLIT_SMILES, (0.8, 0.1, 0.1))
    _check_scaffold_split(parts, SPLIT_SMILES, (0.8, 0.1, 0.1))
    assert parts == scaffold_split(SPLIT_SMILES, (0.8, 0.1, 0.1))
    # the largest scaffold set (10 benzenes) goes to train first
    assert set(range(10)) <= set(parts[0])
    # a list of Data with .smiles works the same
    graphs = [smiles_to_graph(s) for s in SPLIT_SMILES]
    assert scaffold_split(graphs, (0.8, 0.1, 0.1)) == parts


def test_scaffold_split_seeded():
    a = scaffold_split(SPLIT_SMILES, (0.6, 0.2, 0.2), seed=1)
    _check_scaffold_split(a, SPLIT_SMILES, (0.6, 0.2, 0.2))
    assert a == scaffold_split(SPLIT_SMILES, (0.6, 0.2, 0.2), seed=1)
    others = [scaffold_split(SPLIT_SMILES, (0.6, 0.2, 0.2), seed=s) for s in range(2, 8)]
    assert any(o != a for o in others)
    with pytest.raises(ValueError, match="sum to 1"):
        scaffold_split(SPLIT_SMILES, (0.5, 0.1))


def test_random_split():
    parts = random_split(100, (0.7, 0.2, 0.1), seed=3)
    assert [len(p) for p in parts] == [70, 20, 10]
    assert sorted(i for p in parts for i in p) == list(range(100))
    assert parts == random_split(100, (0.7, 0.2, 0.1), seed=3)
    assert parts != random_split(100, (0.7, 0.2, 0.1), seed=4)


# -- the shared MoleculeNet files -----------------------------------------------------


def _rows(path):
    with open(path, newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def _invalid(notes):
    for note in notes:
        if "invalid SMILES" in note:
            return int(note.split()[1])
    return 0


@pytest.mark.parametrize(
    "file, smiles_column, expected_rows", [("BBBP.csv", "smiles", 2039), ("bace.csv", "mol", 1513)]
)
def test_shared_moleculenet(file, smiles_column, expected_rows):
    path = MOLECULES / file
    if not path.is_file():
        pytest.skip(f"shared dataset missing: {path}")
    ds = load_molecules(path)
    assert _rows(path) == expected_rows
    assert len(ds) + _invalid(ds.notes) == expected_rows
    assert ds.num_classes == 2 and ds.class_names == ["0", "1"]
    assert all(g.x.shape[1] == NUM_ATOM_FEATURES and g[LEVEL_LABELS].shape == (g.num_nodes, 1) for g in ds)
    # almost every drug-like molecule has a ring and some functional group
    assert sum(int(g[LEVEL_LABELS].max()) >= 1 for g in ds) > 0.9 * len(ds)
    if file == "bace.csv":
        train, valid, test = scaffold_split(ds)
        assert len(train) + len(valid) + len(test) == len(ds)
        assert abs(len(train) - 0.8 * len(ds)) < 0.02 * len(ds)
        train_scaffolds = {murcko_scaffold(ds[i].smiles) for i in train}
        assert not train_scaffolds & {murcko_scaffold(ds[i].smiles) for i in test}


# -- hardening: bad files are ValueErrors naming the file and line ----------------------

BAD_CSV = {
    "no molecule readable": (
        "smiles,y\nC1CC,1\nxx,0\n",
        r"m\.csv: no molecule with a label \(skipped 2 invalid SMILES at rows 2, 3",
    ),
    "SMILES column empty": ("smiles,y\n,1\n ,0\n", r"m\.csv: no molecule with a label"),
    "every label blank": ("smiles,y\nCCO,\nCC,nan\n", r"m\.csv: no numeric label column"),
    "header only": ("smiles,y\n", r"m\.csv: no molecules, only the header line"),
    "empty file": ("", r"m\.csv: empty file, expected a header line"),
    "only blank lines": ("\n\r\n\n", r"m\.csv: empty file"),
    "not UTF-8": (b"smiles,y\nCCO,1\nC\xe9,0\n", r"m\.csv:3: not UTF-8 text"),
    "field over the limit": ("smiles,y\nCCO,1\n" + "C" * 140_000 + ",1\n", r"m\.csv:3: a field longer than 131072"),
    "one huge line": (
        "smiles,y," + ",".join(f"t{i}" for i in range(30_000)) + "\n" + "C" * 140_000 + "\n",
        r"m\.csv:2: a field longer than 131072",
    ),
    "unclosed quote": (
        'smiles,y\n"CCO,1\nCC,0\n',
        r"m\.csv:2: malformed CSV: a quoted field starting on this line is never closed",
    ),
    "text after a quote": ('smiles,y\n"CCO"x,1\n', r"m\.csv:2: malformed CSV: ',' expected after '\"'"),
    "duplicate header": ("smiles,y,y\nCCO,1,0\n", r"m\.csv:1: duplicate column names \['y'\]"),
    "short row": ("smiles,y\nCCO,1\nCCO\n", r"m\.csv:3: 1 fields, the header has 2"),
    "class beyond 2**53": (
        "smiles,y\nCCO,12345678901234567891\nCC,12345678901234567892\n",
        r"m\.csv:2: label '12345678901234567891' in column 'y' is too large for an exact "
        r"class number",
    ),
    # float64 reads 2**53 + 1 as 2**53: two classes would silently become one
    "class 2**53 + 1 next to 2**53": (
        f"smiles,y\nCCO,{2**53 + 1}\nCC,{2**53}\n",
        r"m\.csv:2: label '9007199254740993' in column 'y' is too large "
        r".*\(below 2\*\*53\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_bad_csv_is_refused_naming_the_file(tmp_path, case):
    text, message = BAD_CSV[case]
    path = tmp_path / "m.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=message):
        load_molecules(path)


@pytest.mark.parametrize(
    "cell, message",
    [
        ("inf", "holds 'inf', not a number"),
        ("1_0", "holds '1_0', not a number"),
        ("1e39", "holds '1e39', not a finite number within float32 range"),
        ("true", "holds 'true', not a number"),
    ],
)
def test_named_label_columns_hold_numbers_only(tmp_path, cell, message):
    path = _write(tmp_path / "m.csv", f"smiles,y\nCC,1\nCCO,{cell}\n")
    with pytest.raises(ValueError, match=rf"m\.csv:3: label column 'y' {message}"):
        load_molecules(path, label_columns="y")


def test_missing_labels_are_blank_or_nan_in_any_case(tmp_path):
    path = _write(tmp_path / "t.csv", "smiles,a,b\nCCO,nan,1\nCC,NaN,\nCCC,,0\nCCCC,NAN,-nan\nCN,1,0\n")
    ds = load_molecules(path)
    assert ds.task_names == ["a", "b"] and [g.smiles for g in ds] == ["CCO", "CCC", "CN"]
    y = torch.cat([g.y for g in ds])
    assert torch.isnan(y[:2, 0]).all() and y[:, 1].tolist() == [1, 0, 0] and y[2, 0] == 1
    assert "skipped 2 rows with every label blank at lines 3, 5" in ds.notes


def test_smiles_with_whitespace_or_control_characters_are_invalid(tmp_path):
    path = _write(tmp_path / "w.csv", "smiles,y\nCCO ethanol,1\nC\x00C,0\n CC ,0\nCCO,1\n")
    ds = load_molecules(path)
    assert [g.smiles for g in ds] == ["CC", "CCO"]  # surrounding spaces are stripped
    assert "skipped 2 invalid SMILES at rows 2, 3 (file line numbers)" in ds.notes
    assert smiles_to_graph("CCO ethanol") is None and smiles_to_graph(" CCO ") is not None


def test_bom_crlf_one_class_and_a_missing_file(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes("\ufeffsmiles,y\r\nCCO,1.0\r\n\r\nCC,1\r\n".encode())
    ds = load_molecules(path)
    assert len(ds) == 2 and ds.class_names == ["1"] and ds.num_classes == 1 and ds.labels() == [0, 0]
    assert "a single class (1): nothing to tell apart" in ds.notes
    with pytest.raises(ValueError, match=r"absent\.csv: no such file"):
        load_molecules(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="not a file"):
        load_molecules(tmp_path)


def test_many_classes_are_mapped_quickly(tmp_path):
    path = _write(tmp_path / "c.csv", "smiles,y\n" + "".join(f"C,{i}\n" for i in range(3000)))
    ds = load_molecules(path)
    assert ds.num_classes == 3000 and ds.labels() == list(range(3000))


def test_classes_come_from_the_molecules_read(tmp_path):
    path = _write(tmp_path / "k.csv", "smiles,y\nCCO,0\nC1CC,1\nCC,2\n")  # class 1 only on an invalid SMILES
    ds = load_molecules(path)
    assert ds.class_names == ["0", "2"] and ds.num_classes == 2 and ds.labels() == [0, 1]
    assert "classes 1 left out: only on skipped rows" in ds.notes


def test_a_task_labelled_only_on_skipped_rows_is_named(tmp_path):
    path = _write(tmp_path / "t.csv", "smiles,a,b\nCCO,1,\nC1CC,,0\n")
    ds = load_molecules(path)
    assert ds.task_names == ["a", "b"] and len(ds) == 1 and torch.isnan(ds[0].y[0, 1])
    assert "label columns ['b'] have no label on a molecule read (only on skipped rows)" in ds.notes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"label_columns": 5}, r"m\.csv: label_columns must be a column name or a list of column names, got 5"),
        ({"label_columns": ["y", 1]}, r"label_columns must be a column name or a list"),
        ({"label_columns": ["y", "y"]}, r"m\.csv: label_columns names 'y' twice"),
        ({"smiles_column": 0}, r"m\.csv: smiles_column must be a column name, got 0"),
        ({"name": 5}, r"load_molecules: name must be a non-empty string or None, got 5"),
    ],
)
def test_bad_load_molecules_arguments_are_value_errors(tmp_path, kwargs, message):
    path = _write(tmp_path / "m.csv", "smiles,y\nCC,1\nCCO,0\n")
    with pytest.raises(ValueError, match=message):
        load_molecules(path, **kwargs)


def test_bad_molecule_paths_are_value_errors(tmp_path):
    import os

    with pytest.raises(ValueError, match=r"load_molecules: path must be a path \(a str or pathlib.Path\), got 5"):
        load_molecules(5)
    with pytest.raises(ValueError, match=r"cannot read it \(file name too long\)"):
        load_molecules(tmp_path / ("m" * 300 + ".csv"))
    os.mkfifo(tmp_path / "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv: not a regular file \(a pipe or a device\)"):
        load_molecules(tmp_path / "p.csv")
