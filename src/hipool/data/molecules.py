"""Molecules from a CSV of SMILES (MoleculeNet style), with functional groups as a known hierarchy.

:func:`load_molecules` reads a CSV with one SMILES column and one or more label
columns and returns a :class:`~hipool.data.base.GraphDataset` of molecular graphs
built with RDKit (``pip install 'hipool[chem]'``): one node per heavy atom, one
edge per bond in both directions.

**Atom features** ``x`` (float32, :data:`NUM_ATOM_FEATURES` = 52 columns, names in
:data:`ATOM_FEATURE_NAMES`): one-hot blocks, each with a last ``other`` column for
values outside its list, and two flags:

=========================  =========================================  =======
block                      values (then ``other``)                    columns
=========================  =========================================  =======
element                    :data:`ATOM_ELEMENTS`: C N O S F Cl Br I   0-23
                           P B Si Se Na K Li Ca Mg Zn Fe Cu Pt As Sn
degree (heavy neighbours)  0 1 2 3 4 5                                24-30
formal charge              -2 -1 0 1 2                                31-36
hybridization              S SP SP2 SP3 SP3D SP3D2                    37-43
aromatic                   flag                                       44
total H count              0 1 2 3 4                                  45-50
in ring                    flag                                       51
=========================  =========================================  =======

**Bond features** ``edge_attr`` (float32, :data:`NUM_BOND_FEATURES` = 7 columns,
:data:`BOND_FEATURE_NAMES`): bond type one-hot (single, double, triple, aromatic,
other), conjugated, in ring.  Both directions of a bond carry the same row.

**Ground-truth hierarchy** (:data:`~hipool.data.base.LEVEL_LABELS`, int64 ``[N, 1]``):
level 1 is each atom's *group*, numbered ``0 .. G-1`` within the molecule, ``-1``
for atoms in no group (plain chain carbons, for instance).  Groups are found in
this order, which is also the precedence when an atom is matched more than once:

1. **ring systems**: the rings of RDKit's ring perception, rings that share an
   atom (fused, bridged or spiro) merged into one system; type ``"aromatic ring"``
   when one of its atoms is aromatic, else ``"aliphatic ring"``.  Sorted by their
   smallest atom index.
2. **functional groups**, :data:`FUNCTIONAL_GROUPS` in that order (larger, more
   specific groups first): nitro, sulfonamide, sulfonyl, phosphoryl, carboxyl,
   ester, amide, carbonyl (ketone/aldehyde), nitrile, imine, amine, hydroxyl,
   ether, thiol, thioether, halide.  Only the atoms carrying a map number in a
   pattern belong to the group (``[#6][CX3:1](=[OX1:2])...``: the carbonyl C and O,
   not the carbon it hangs on).  Matches of one type are taken sorted by atoms.

A match whose atoms are all still free founds a new group.  A match that shares
an atom with groups found before it is *absorbed*: its free atoms join the
lowest-numbered of those groups.  So ring atoms always stay with their ring
system (a piperidine N or a tetrahydrofuran O is part of the ring, the exocyclic
O of cyclohexanone or of a lactam joins the ring too), two amide matches of a
urea or an imide make one amide group, and a sulfonamide is not split again as
a sulfonyl.  Every group keeps the type of the match that founded it:
``data.group_names[g]``.  The full, many-to-many membership before precedence is
``data.group_matches``: a list of ``(type, atom indices)``, one per ring system
and per pattern match, in the order above.

Each :class:`~torch_geometric.data.Data` has ``x``, ``edge_index`` (int64, both
directions, sorted), ``edge_attr``, ``y``, ``level_labels``, ``group_names``,
``group_matches``, ``smiles`` (the string read from the file) and ``num_nodes``.
Everything is deterministic: the same file gives the same graphs.

**The CSV** is UTF-8 (a byte-order mark is skipped; Windows line ends, CR LF, are
fine), a header line, then one molecule per line; blank lines are skipped.  Quoting
is strict: a field holding a comma, a quote or a line break is quoted and a quote
in it doubled; anything else is an error with the file line.  Every row has as many
fields as the header, and the header names every column once.  A label cell is a
decimal number (``1``, ``-0.5``, ``1e-3``) within float32 range; a blank cell or
``nan`` (any case) is a missing label; ``inf``, ``1e39`` and text are not labels:
an error in a column ``label_columns`` names, otherwise the column is ignored and
``notes`` names it (see :func:`load_molecules`).  A SMILES that RDKit cannot read,
a blank one, or one with whitespace or a control character inside (RDKit would
read ``CCO ethanol`` as ``CCO``) is skipped, and ``notes`` lists the file lines.

**Refused** with a :class:`ValueError` naming the file (and the line where there is
one): no such file, not UTF-8 text, malformed quoting, a field of more than
:data:`MAX_CSV_FIELD` (131 072) characters, a header only, rows of the wrong
length, a class label from ``2**53`` on (where float64, and so the class, is no
longer exact: ``2**53 + 1`` would read as ``2**53``), ``label_columns`` naming a column
twice, and a file where no row gives a molecule with a label.

:func:`scaffold_split` is the Bemis-Murcko scaffold split of the field
(DeepChem / OGB deterministic, chemprop's balanced one with a seed);
:func:`random_split` a plain random one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data

from ..io import PathLike
from .base import LEVEL_LABELS, GraphDataset, as_path, csv_rows, path_kind

__all__ = [
    "ATOM_ELEMENTS",
    "ATOM_FEATURE_NAMES",
    "BOND_FEATURE_NAMES",
    "FUNCTIONAL_GROUPS",
    "MAX_CSV_FIELD",
    "NUM_ATOM_FEATURES",
    "NUM_BOND_FEATURES",
    "RING_GROUPS",
    "SMILES_COLUMN_NAMES",
    "functional_groups",
    "load_molecules",
    "mol_to_graph",
    "murcko_scaffold",
    "random_split",
    "scaffold_split",
    "smiles_to_graph",
]

#: Elements with their own one-hot column (anything else, ``*`` included, is ``other``).
ATOM_ELEMENTS: Tuple[str, ...] = (
    "C",
    "N",
    "O",
    "S",
    "F",
    "Cl",
    "Br",
    "I",
    "P",
    "B",
    "Si",
    "Se",
    "Na",
    "K",
    "Li",
    "Ca",
    "Mg",
    "Zn",
    "Fe",
    "Cu",
    "Pt",
    "As",
    "Sn",
)
#: Number of heavy-atom neighbours.
ATOM_DEGREES: Tuple[int, ...] = (0, 1, 2, 3, 4, 5)
ATOM_FORMAL_CHARGES: Tuple[int, ...] = (-2, -1, 0, 1, 2)
#: Names of :class:`rdkit.Chem.rdchem.HybridizationType` values.
ATOM_HYBRIDIZATIONS: Tuple[str, ...] = ("S", "SP", "SP2", "SP3", "SP3D", "SP3D2")
#: Total (implicit + explicit) hydrogen count.
ATOM_NUM_HS: Tuple[int, ...] = (0, 1, 2, 3, 4)
#: Names of :class:`rdkit.Chem.rdchem.BondType` values.
BOND_TYPES: Tuple[str, ...] = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")


def _one_hot_names(block: str, values: Sequence) -> List[str]:
    return [f"{block}={v}" for v in values] + [f"{block}=other"]


#: Name of every column of ``x``.
ATOM_FEATURE_NAMES: Tuple[str, ...] = tuple(
    _one_hot_names("element", ATOM_ELEMENTS)
    + _one_hot_names("degree", ATOM_DEGREES)
    + _one_hot_names("formal_charge", ATOM_FORMAL_CHARGES)
    + _one_hot_names("hybridization", ATOM_HYBRIDIZATIONS)
    + ["aromatic"]
    + _one_hot_names("num_hs", ATOM_NUM_HS)
    + ["in_ring"]
)
#: Width of ``x``.
NUM_ATOM_FEATURES: int = len(ATOM_FEATURE_NAMES)
#: Name of every column of ``edge_attr``.
BOND_FEATURE_NAMES: Tuple[str, ...] = tuple(
    _one_hot_names("bond_type", [t.lower() for t in BOND_TYPES]) + ["conjugated", "in_ring"]
)
#: Width of ``edge_attr``.
NUM_BOND_FEATURES: int = len(BOND_FEATURE_NAMES)

#: Group types of ring systems (any aromatic atom makes the system aromatic).
RING_GROUPS: Tuple[str, ...] = ("aromatic ring", "aliphatic ring")

#: Functional groups in precedence order: ``(type, SMARTS patterns)``.  Atoms with a
#: map number (``:1``) are the group; the others only say where it must be.
FUNCTIONAL_GROUPS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("nitro", ("[N+:1](=[O:2])[O-:3]",)),
    ("sulfonamide", ("[SX4:1](=[OX1:2])(=[OX1:3])[NX3:4]",)),
    ("sulfonyl", ("[SX4:1](=[OX1:2])=[OX1:3]",)),
    ("phosphoryl", ("[PX4:1]=[OX1:2]",)),
    ("carboxyl", ("[CX3:1](=[OX1:2])[OX2H1:3]", "[CX3:1](=[OX1:2])[OX1-:3]")),
    ("ester", ("[CX3;$(C-[#6]),$([CH1]):1](=[OX1:2])[OX2H0:3][#6]",)),
    ("amide", ("[NX3:1][CX3:2]=[OX1:3]",)),
    ("carbonyl", ("[#6][CX3:1](=[OX1:2])[#6]", "[CX3H1:1](=[OX1:2])[#6]", "[CX3H2:1]=[OX1:2]")),
    ("nitrile", ("[CX2:1]#[NX1:2]",)),
    ("imine", ("[CX3:1]=[NX2:2]",)),
    ("amine", ("[NX3;!$(N~[!#6;!#1]);!$(N-[#6]=[O,S,N]):1]", "[NX4+;!$(N~[!#6;!#1]):1]")),
    ("hydroxyl", ("[OX2H:1][#6;!$(C=[O,S,N])]",)),
    ("ether", ("[OD2:1]([#6;!$(C=[O,S,N])])[#6;!$(C=[O,S,N])]",)),
    ("thiol", ("[SX2H:1][#6]",)),
    ("thioether", ("[SD2:1]([#6])[#6]",)),
    ("halide", ("[F,Cl,Br,I;$(*-[#6]):1]",)),
)

#: Names a SMILES column is looked up by (case-insensitive, first hit wins).
SMILES_COLUMN_NAMES: Tuple[str, ...] = (
    "smiles",
    "mol",
    "canonical_smiles",
    "smiles_string",
    "smi",
    "molecule",
    "structure",
)

#: Longest field of the CSV, in characters (the default of Python's csv module).
MAX_CSV_FIELD: int = 131_072

#: At most this many line numbers are listed in one note.
_MAX_LISTED = 50
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_MISSING = re.compile(r"[+-]?nan", re.IGNORECASE)
_NOT_SMILES = re.compile(r"[\s\x00-\x1f\x7f]")  # whitespace or control characters inside
_EXACT = 2**53  # floats are exact whole numbers up to here
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _import_rdkit():
    try:
        from rdkit import Chem, rdBase
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("hipool.data.molecules needs RDKit: pip install 'hipool[chem]'") from exc
    return Chem, rdBase


@lru_cache(maxsize=1)
def _compiled_groups():
    """``[(type, [(pattern, tagged query indices), ...]), ...]`` (compiled once)."""
    Chem, _ = _import_rdkit()
    compiled = []
    for kind, smarts_list in FUNCTIONAL_GROUPS:
        patterns = []
        for smarts in smarts_list:
            pattern = Chem.MolFromSmarts(smarts)
            if pattern is None:  # pragma: no cover - the table is fixed
                raise ValueError(f"bad SMARTS for {kind}: {smarts}")
            tagged = [a.GetIdx() for a in pattern.GetAtoms() if a.GetAtomMapNum() > 0]
            patterns.append((pattern, tagged))
        compiled.append((kind, patterns))
    return compiled


# -- one molecule ---------------------------------------------------------------


def _one_hot(value, values: Sequence) -> int:
    """Column of ``value`` inside its block (the last one is ``other``)."""
    try:
        return values.index(value)
    except ValueError:
        return len(values)


def _atom_features(mol) -> torch.Tensor:
    blocks = (ATOM_ELEMENTS, ATOM_DEGREES, ATOM_FORMAL_CHARGES, ATOM_HYBRIDIZATIONS, None, ATOM_NUM_HS, None)
    offsets = []
    start = 0
    for values in blocks:
        offsets.append(start)
        start += 1 if values is None else len(values) + 1
    x = np.zeros((mol.GetNumAtoms(), NUM_ATOM_FEATURES), dtype=np.float32)
    for atom in mol.GetAtoms():
        i = atom.GetIdx()
        x[i, offsets[0] + _one_hot(atom.GetSymbol(), ATOM_ELEMENTS)] = 1
        x[i, offsets[1] + _one_hot(atom.GetDegree(), ATOM_DEGREES)] = 1
        x[i, offsets[2] + _one_hot(atom.GetFormalCharge(), ATOM_FORMAL_CHARGES)] = 1
        x[i, offsets[3] + _one_hot(str(atom.GetHybridization()), ATOM_HYBRIDIZATIONS)] = 1
        x[i, offsets[4]] = float(atom.GetIsAromatic())
        x[i, offsets[5] + _one_hot(atom.GetTotalNumHs(), ATOM_NUM_HS)] = 1
        x[i, offsets[6]] = float(atom.IsInRing())
    return torch.from_numpy(x)


def _bond_graph(mol) -> Tuple[torch.Tensor, torch.Tensor]:
    """``edge_index`` (both directions, sorted by source then target) and ``edge_attr``."""
    n_bonds = mol.GetNumBonds()
    pairs = np.zeros((2, 2 * n_bonds), dtype=np.int64)
    attr = np.zeros((2 * n_bonds, NUM_BOND_FEATURES), dtype=np.float32)
    for bond in mol.GetBonds():
        k = bond.GetIdx()
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        pairs[:, 2 * k] = (a, b)
        pairs[:, 2 * k + 1] = (b, a)
        row = np.zeros(NUM_BOND_FEATURES, dtype=np.float32)
        row[_one_hot(str(bond.GetBondType()), BOND_TYPES)] = 1
        row[len(BOND_TYPES) + 1] = float(bond.GetIsConjugated())
        row[len(BOND_TYPES) + 2] = float(bond.IsInRing())
        attr[2 * k] = attr[2 * k + 1] = row
    order = np.lexsort((pairs[1], pairs[0]))
    return torch.from_numpy(pairs[:, order].copy()), torch.from_numpy(attr[order].copy())


def _ring_systems(mol) -> List[Tuple[str, Tuple[int, ...]]]:
    """Rings sharing an atom merged, as ``(type, sorted atoms)``, by smallest atom."""
    systems: List[set] = []
    for ring in mol.GetRingInfo().AtomRings():
        merged = set(ring)
        rest = []
        for system in systems:
            if system & merged:
                merged |= system
            else:
                rest.append(system)
        systems = rest + [merged]
    out = []
    for system in sorted(systems, key=min):
        atoms = tuple(sorted(system))
        aromatic = any(mol.GetAtomWithIdx(a).GetIsAromatic() for a in atoms)
        out.append((RING_GROUPS[0] if aromatic else RING_GROUPS[1], atoms))
    return out


def functional_groups(mol) -> Tuple[torch.Tensor, List[str], List[Tuple[str, Tuple[int, ...]]]]:
    """The group hierarchy of an RDKit molecule (see the module docstring).

    Returns ``(group, group_names, group_matches)``: ``group`` int64 ``[N]`` (``-1`` =
    none), the type of every group id, and every ring system and pattern match
    before precedence as ``(type, atoms)``.
    """
    matches = _ring_systems(mol)
    for kind, patterns in _compiled_groups():
        found = set()
        for pattern, tagged in patterns:
            for match in mol.GetSubstructMatches(pattern, uniquify=False):
                found.add(tuple(sorted(match[i] for i in tagged)))
        matches.extend((kind, atoms) for atoms in sorted(found))

    group = np.full(mol.GetNumAtoms(), -1, dtype=np.int64)
    names: List[str] = []
    for kind, atoms in matches:
        owners = {int(group[a]) for a in atoms if group[a] >= 0}
        target = min(owners) if owners else len(names)
        if not owners:
            names.append(kind)
        for a in atoms:
            if group[a] < 0:
                group[a] = target
    return torch.from_numpy(group), names, matches


def mol_to_graph(mol, smiles: str = "") -> Data:
    """A ``Data`` for an RDKit molecule (no ``y``): features, bonds and groups."""
    edge_index, edge_attr = _bond_graph(mol)
    group, names, matches = functional_groups(mol)
    data = Data(x=_atom_features(mol), edge_index=edge_index, edge_attr=edge_attr, num_nodes=mol.GetNumAtoms())
    data[LEVEL_LABELS] = group.view(-1, 1)
    data.group_names = names
    data.group_matches = matches
    data.smiles = smiles
    return data


def _parse_smiles(Chem, smiles: str):
    """The RDKit molecule of ``smiles`` (stripped), or ``None`` when it is not one (call with
    RDKit's logs blocked)."""
    smiles = smiles.strip()
    if not smiles or _NOT_SMILES.search(smiles):  # RDKit reads "CCO ethanol" as CCO
        return None
    try:
        mol = Chem.MolFromSmiles(smiles)
    except Exception:  # noqa: BLE001 - RDKit's parser may raise instead of returning None
        return None
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def smiles_to_graph(smiles: str) -> Optional[Data]:
    """:func:`mol_to_graph` of a SMILES string, ``None`` when RDKit cannot read it (or it is
    blank, or has whitespace or a control character inside)."""
    Chem, rdBase = _import_rdkit()
    with rdBase.BlockLogs():
        mol = _parse_smiles(Chem, smiles)
    return None if mol is None else mol_to_graph(mol, smiles)


# -- the CSV --------------------------------------------------------------------


def _number(value: str) -> float:
    """A label cell as a float; blank (or ``nan``) is NaN; a ValueError saying why otherwise."""
    value = value.strip()
    if not value or _MISSING.fullmatch(value):
        return math.nan
    if not _NUMBER.fullmatch(value):
        raise ValueError("not a number")
    number = float(value)
    if not abs(number) <= _FLOAT32_MAX:  # y is float32 for regression and multi-task data
        raise ValueError("not a finite number within float32 range (|v| <= 3.4e38)")
    return number


def _names(header: List[str]) -> str:
    """The header as a list, cut short after 20 names."""
    return str(header) if len(header) <= 20 else str(header[:20])[:-1] + f", ... ({len(header)} columns)]"


def _lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in lines[:_MAX_LISTED])
    return shown + (f", ... ({len(lines) - _MAX_LISTED} more)" if len(lines) > _MAX_LISTED else "")


def _read_csv(path: Path) -> Tuple[List[str], List[Tuple[int, List[str]]]]:
    """Header and ``(file line, fields)`` of every non-empty row."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start}); save the CSV as UTF-8"
        ) from None
    header: Optional[List[str]] = None
    rows = []
    for line, row in csv_rows(text, path, MAX_CSV_FIELD):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            duplicates = sorted(h for h, k in Counter(header).items() if k > 1)
            if duplicates:
                raise ValueError(f"{path}:{line}: duplicate column names {duplicates}")
            continue
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
        rows.append((line, row))
    if header is None:
        raise ValueError(f"{path}: empty file, expected a header line")
    if not rows:
        raise ValueError(f"{path}: no molecules, only the header line")
    return header, rows


def _find_smiles_column(path: Path, header: List[str], smiles_column: Optional[str]) -> int:
    if smiles_column is not None and not isinstance(smiles_column, str):
        raise ValueError(f"{path}: smiles_column must be a column name, got {smiles_column!r:.200}")
    if smiles_column is not None:
        if smiles_column not in header:
            raise ValueError(f"{path}: no column {smiles_column!r}; the header is {_names(header)}")
        return header.index(smiles_column)
    lowered = [h.lower() for h in header]
    for name in SMILES_COLUMN_NAMES:
        if name in lowered:
            return lowered.index(name)
    raise ValueError(
        f"{path}: no SMILES column found (looked for {list(SMILES_COLUMN_NAMES)}, "
        f"any case); the header is {_names(header)}; pass smiles_column="
    )


def _label_matrix(
    path: Path, header: List[str], rows, smiles_index: int, label_columns: Optional[Sequence[str]], notes: List[str]
) -> Tuple[List[str], np.ndarray]:
    """The label column names and their values ``[rows, T]`` (NaN = blank)."""
    if label_columns is not None:
        if not isinstance(label_columns, (str, list, tuple)) or not all(
            isinstance(c, str) for c in ([label_columns] if isinstance(label_columns, str) else label_columns)
        ):
            raise ValueError(
                f"{path}: label_columns must be a column name or a list of column names, got {label_columns!r:.200}"
            )
        names = [label_columns] if isinstance(label_columns, str) else list(label_columns)
        if not names:
            raise ValueError(f"{path}: label_columns is empty")
        twice = next((c for c in names if names.count(c) > 1), None)
        if twice is not None:
            raise ValueError(f"{path}: label_columns names {twice!r} twice")
        for col in names:
            if col not in header:
                raise ValueError(f"{path}: no label column {col!r}; the header is {_names(header)}")
            if header.index(col) == smiles_index:
                raise ValueError(f"{path}: {col!r} is the SMILES column, not a label")
        strict = True
    else:
        names = [h for i, h in enumerate(header) if i != smiles_index]
        strict = False

    columns, ignored = [], []
    position = {h: j for j, h in enumerate(header)}
    for col in names:
        j = position[col]
        values = np.empty(len(rows), dtype=np.float64)
        for r, (line, row) in enumerate(rows):
            try:
                values[r] = _number(row[j])
            except ValueError as e:
                if strict:
                    cell = row[j] if len(row[j]) <= 60 else row[j][:60] + "..."
                    raise ValueError(f"{path}:{line}: label column {col!r} holds {cell!r}, {e}") from None
                values = None
                break
        if values is None or (not strict and np.isnan(values).all()):
            ignored.append(col)
        else:
            columns.append((col, values))
    if ignored:
        notes.append(f"ignored columns that are not numeric labels: {ignored}")
    if not columns:
        raise ValueError(f"{path}: no numeric label column besides the SMILES column; the header is {_names(header)}")
    return [c for c, _ in columns], np.stack([v for _, v in columns], axis=1)


def load_molecules(
    path: PathLike,
    smiles_column: Optional[str] = None,
    label_columns: Optional[Union[str, Sequence[str]]] = None,
    *,
    name: Optional[str] = None,
    progress: bool = False,
) -> GraphDataset:
    """Molecular graphs from a CSV of SMILES and labels (see the module docstring).

    Args:
        path: the CSV file (a header line, then one molecule per line); read only.
        smiles_column: the SMILES column; by default the first header name in
            :data:`SMILES_COLUMN_NAMES`, compared case-insensitively.
        label_columns: a column name or a list of them.  By default every other
            column whose cells are all numbers or blank (and not all blank); the
            others are ignored and listed in ``notes``.
        name: the dataset's name (default: the file name without extension).
        progress: show a tqdm progress bar while building the graphs.

    Labels.  **One column of integers** (``0/1``, ``1..5``, ``-1/1``): classification,
    ``y`` int64 ``[1]``, the sorted distinct values of the molecules read mapped to
    ``0 .. C-1`` (a value only on skipped rows is no class; ``notes`` names it),
    ``num_classes = C``, ``class_names`` the original values; rows with a blank label
    are skipped.  **One column of other numbers**: regression, ``y`` float32 ``[1, 1]``,
    ``task_names = [column]``, ``num_classes = 1``; blank rows skipped.  **Several
    columns**: ``y`` float32 ``[1, T]`` with NaN where blank, ``task_names`` the
    columns, ``num_classes = 2`` when every label is 0 or 1, else ``1`` (regression
    targets, raw values); rows with every label blank are skipped.

    A label cell is missing when blank or ``nan`` (any case).  A column that
    ``label_columns`` names must hold numbers or missing labels only (an error naming
    the line otherwise); ``inf`` and numbers beyond float32 are not labels.  A single
    class loads (``notes`` says so).

    SMILES that RDKit cannot read (or blank ones, or ones with whitespace inside) are
    skipped, never raised; RDKit's own messages are silenced and ``notes`` lists the
    file lines.  Molecules with several fragments (salts) are kept as one disconnected
    graph.

    Raises:
        ValueError: no such file, not UTF-8, malformed CSV (see the module docstring),
            no SMILES column, a named column missing, a named label column holding
            text (with the file and line), no label column, a class label from
            ``2**53`` on, no row that gives a molecule with a label.
        ImportError: RDKit is missing.
    """
    path = as_path(path, "load_molecules: path")
    kind = path_kind(path)
    if kind != "file":
        raise ValueError(
            f"load_molecules: {path}: "
            + (
                "no such file"
                if kind == "missing"
                else "a folder, not a file"
                if kind == "folder"
                else "not a regular file (a pipe or a device)"
            )
        )
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ValueError(f"load_molecules: name must be a non-empty string or None, got {name!r:.200}")
    Chem, rdBase = _import_rdkit()
    header, rows = _read_csv(path)
    smiles_index = _find_smiles_column(path, header, smiles_column)
    notes: List[str] = []
    tasks, labels = _label_matrix(path, header, rows, smiles_index, label_columns, notes)

    known = ~np.isnan(labels)
    class_names: Optional[List[str]] = None
    task_names: Optional[List[str]] = None
    values = labels[known]
    classify = len(tasks) == 1 and bool(np.all(values == np.round(values)))  # decided by the whole column
    if classify:
        # from 2**53 on, float64 no longer tells whole numbers apart: 2**53 + 1 reads as 2**53
        too_big = np.flatnonzero(np.abs(labels[:, 0]) >= _EXACT)
        if too_big.size:
            line = rows[too_big[0]][0]
            cell = rows[too_big[0]][1][header.index(tasks[0])].strip()
            raise ValueError(
                f"{path}:{line}: label {cell[:60]!r} in column {tasks[0]!r} is too large for an "
                f"exact class number (below 2**53); a column of whole numbers is read as classes"
            )
        keep = known[:, 0]
        what = "a blank label"
    else:
        task_names = tasks
        num_classes = 2 if np.isin(values, (0.0, 1.0)).all() else 1
        keep = known.any(axis=1)
        what = "a blank label" if len(tasks) == 1 else "every label blank"
    unlabelled = [line for (line, _), k in zip(rows, keep) if not k]
    if unlabelled:
        rows_word = "row" if len(unlabelled) == 1 else "rows"
        notes.append(f"skipped {len(unlabelled)} {rows_word} with {what} at lines {_lines(unlabelled)}")

    from tqdm.auto import tqdm

    graphs: List[Data] = []
    read: List[int] = []  # the row of every graph
    invalid: List[int] = []
    todo = [(r, line, row) for r, (line, row) in enumerate(rows) if keep[r]]
    with rdBase.BlockLogs():
        for r, line, row in tqdm(todo, desc=name or path.name, disable=not progress):
            smiles = row[smiles_index].strip()
            mol = _parse_smiles(Chem, smiles)
            if mol is None:
                invalid.append(line)
                continue
            graphs.append(mol_to_graph(mol, smiles))
            read.append(r)
    if invalid:
        notes.append(f"skipped {len(invalid)} invalid SMILES at rows {_lines(invalid)} (file line numbers)")
    if not graphs:
        why = "; ".join(n for n in notes if n.startswith("skipped"))
        raise ValueError(f"{path}: no molecule with a label ({why})")

    if classify:  # the classes of the molecules read: none without a molecule
        classes = np.unique(labels[read, 0])
        class_names = [str(int(c)) for c in classes]
        class_of = {float(c): i for i, c in enumerate(classes)}
        num_classes = len(classes)
        lost = sorted(set(np.unique(values).tolist()) - set(class_of))
        if lost:
            notes.append(f"classes {_lines([int(c) for c in lost])} left out: only on skipped rows")
        if num_classes == 1:
            notes.append(f"a single class ({class_names[0]}): nothing to tell apart")
    else:
        empty = [t for t, k in zip(tasks, known[read].any(axis=0)) if not k]
        if empty:
            notes.append(f"label columns {empty} have no label on a molecule read (only on skipped rows)")
    for data, r in zip(graphs, read):
        if classify:
            data.y = torch.tensor([class_of[float(labels[r, 0])]], dtype=torch.long)
        else:
            data.y = torch.tensor(labels[r], dtype=torch.float32).view(1, -1)

    return GraphDataset(
        name=name or path.stem,
        graphs=graphs,
        num_features=NUM_ATOM_FEATURES,
        num_classes=num_classes,
        class_names=class_names,
        task_names=task_names,
        source=str(path),
        notes=notes,
        level_names=("functional group",),
    )


# -- splits -----------------------------------------------------------------------


def _check_fractions(fractions: Sequence[float], who: str) -> List[float]:
    from .splits import check_fractions

    return check_fractions(fractions, who)


def _smiles_of(dataset_or_smiles) -> List[str]:
    out = []
    for i, item in enumerate(dataset_or_smiles):
        smiles = item if isinstance(item, str) else getattr(item, "smiles", None)
        if not isinstance(smiles, str):
            raise ValueError(
                f"scaffold_split: item {i} has no SMILES (a str or a Data with .smiles, as load_molecules makes)"
            )
        out.append(smiles)
    return out


def murcko_scaffold(smiles: str) -> str:
    """The Bemis-Murcko scaffold SMILES (no chirality; ``""`` for acyclic molecules).

    A SMILES RDKit cannot read is its own scaffold (it is returned unchanged).
    """
    Chem, rdBase = _import_rdkit()
    from rdkit.Chem.Scaffolds import MurckoScaffold

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return smiles
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def scaffold_split(
    dataset_or_smiles: Union[GraphDataset, Sequence[Data], Sequence[str]],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: Optional[int] = None,
) -> List[List[int]]:
    """Bemis-Murcko scaffold split: molecules sharing a scaffold land in the same part.

    Molecules are grouped by :func:`murcko_scaffold`.  Parts are filled in order
    (train, valid, test for three fractions): each scaffold set goes to the first
    part ``i`` where it fits, i.e. where the molecules in parts ``0..i`` stay within
    ``(f_0 + ... + f_i) * n``, else to the last part.

    * ``seed=None`` (deterministic, as DeepChem and OGB): sets sorted by size, largest
      first, ties by first appearance.
    * with a ``seed`` (chemprop's balanced scaffold split): sets bigger than half of
      the smallest non-first part go first, the others after, each batch in a random
      order.

    Args:
        dataset_or_smiles: a :class:`GraphDataset` or list of ``Data`` with ``.smiles``
            (what :func:`load_molecules` returns), or a list of SMILES strings.
        fractions: non-negative, summing to 1.
        seed: ``None`` for the deterministic split, else the seed of the random one.

    Returns one sorted index list per part.
    """
    fractions = _check_fractions(fractions, "scaffold_split")
    smiles = _smiles_of(dataset_or_smiles)
    n = len(smiles)
    by_scaffold: Dict[str, List[int]] = {}
    for i, s in enumerate(smiles):
        by_scaffold.setdefault(murcko_scaffold(s), []).append(i)
    sets = list(by_scaffold.values())  # in order of first appearance

    if seed is None:
        sets.sort(key=lambda s: (-len(s), s[0]))
    else:
        rng = np.random.default_rng(seed)
        later = [f * n for f in fractions[1:] if f > 0]
        big = min(later) / 2 if later else math.inf
        large = [s for s in sets if len(s) > big]
        small = [s for s in sets if len(s) <= big]
        sets = [large[i] for i in rng.permutation(len(large))] + [small[i] for i in rng.permutation(len(small))]

    cuts = np.cumsum(fractions) * n
    parts: List[List[int]] = [[] for _ in fractions]
    filled = np.zeros(len(fractions), dtype=np.int64)  # molecules in parts 0..i
    for members in sets:
        target = len(parts) - 1
        for i in range(len(parts)):
            if filled[i] + len(members) <= cuts[i] + 1e-9:
                target = i
                break
        parts[target].extend(members)
        filled[target:] += len(members)
    return [sorted(p) for p in parts]


def random_split(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> List[List[int]]:
    """``range(n)`` shuffled with ``seed`` and cut at ``round(cumsum(fractions) * n)``.

    Returns one sorted index list per part.
    """
    fractions = _check_fractions(fractions, "random_split")
    perm = np.random.default_rng(seed).permutation(int(n))
    cuts = np.round(np.cumsum(fractions) * n).astype(int)
    cuts[-1] = n
    starts = np.concatenate([[0], cuts[:-1]])
    return [sorted(perm[a:b].tolist()) for a, b in zip(starts, cuts)]
