"""Every file under ../shared/datasets/spice and ../shared/datasets/circuits: a netlist hipool
reads (with its counts checked against what the file or its published statistics declare), a
metadata file, or one the README lists as unsupported, with the reason (and then it fails the
way the README says)."""

from __future__ import annotations

import csv
import fnmatch
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from hipool.data.netlists.aiger import read_aiger
from hipool.data.netlists.analog import AnalogNetlist, to_data
from hipool.data.netlists.bench import read_bench
from hipool.data.netlists.blif import read_blif
from hipool.data.netlists.dataset import READERS, read_netlist
from hipool.data.netlists.gates import NetlistError, gate_counts
from hipool.data.netlists.gates import to_data as gate_graph
from hipool.data.netlists.spectre import read_spectre
from hipool.data.netlists.spice import read_spice

from .test_spice import _cdl_count

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"
README = ROOT / "README.md"
pytestmark = pytest.mark.skipif(
    not (SHARED / "spice").is_dir() or not (SHARED / "circuits").is_dir(), reason="../shared/datasets is not here"
)

#: Files that describe the data rather than hold a netlist.
METADATA = ("*.txt", "*.md", "*.csv", "LICENSE", "COPYING*", "README*", "SHA256SUMS")


def unsupported_rows() -> List[Tuple[str, int, str]]:
    """The README's table of unsupported shared files: (pattern, how many files, why)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- unsupported:begin -->")[1].split("<!-- unsupported:end -->")[0]
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows.append((cells[0].strip("`"), int(cells[1]), cells[2]))
    return rows


#: How each README row's files must fail (a pattern of the error message), in the README's
#: order: a file belongs to the first row whose pattern it matches.
FAILURES: Dict[str, str] = {
    "circuits/iscas89/s400.bench": r"reads signal 'Phi1H', which nothing drives",
    "spice/align_ota/full_OTA/*/*.sp": r"instance 'xiota' connects \d+ nets, but subcircuit '[^']+' has \d+ ports",
    "spice/analoggenie/Dataset/*/*.cir": (
        r"instance \S+ of master '(INVERTER|TRANSMISSION_GATE|XOR|PFD)', which is neither a primitive"
    ),
    "spice/ngspice_examples/noise/baker-252-gain.cir": r"hipool does not read 'A' elements \(an XSPICE code model\)",
    "spice/ngspice_examples/various/transformers1.cir": r"hipool does not read 'A' elements \(an XSPICE code model\)",
    "spice/ngspice_examples/*": r"cannot include '[^']+': no such file",
}


def _graph_checks(netlist: AnalogNetlist) -> None:
    data = to_data(netlist)
    pins = sum(len(d.nets) for d in netlist.devices)
    links = sum(len(d.links) for d in netlist.devices)
    assert data.num_nodes == len(netlist.devices) + len({n for d in netlist.devices for n in d.nets})
    assert data.edge_index.shape[1] == 2 * (pins + links)


def _spectre_count(path: Path) -> int:
    """Devices of a Spectre file by lines: each subcircuit's instance lines, an instance of a
    subcircuit counted as that subcircuit's devices, summed over the top level."""
    body: Dict[str, List[str]] = {"": []}
    current = ""
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("//"):
            continue
        if words[0] == "subckt":
            current = words[1]
            body[current] = []
        elif words[0] == "ends":
            current = ""
        elif "(" in line:
            body[current].append(line.rsplit(")", 1)[1].split()[0])

    def size(name: str) -> int:
        return sum(size(m) if m in body and m != "" else 1 for m in body[name])

    return size("")


def _check_read(rel: str, path: Path, stats: Dict[str, Dict[str, str]]) -> None:
    """Read one netlist and check its counts against what is declared for it."""
    suffix = path.suffix.lower()
    if rel.startswith("circuits/") and suffix == ".bench":
        row = stats["bench"][path.name]
        nl = read_bench(path)
        counts = gate_counts(nl)
        assert counts.get("INPUT", 0) == int(row["inputs"]) and len(nl.outputs) == int(row["outputs"]), rel
        assert counts.get("DFF", 0) == int(row["dff"]), rel
        assert sum(v for k, v in counts.items() if k not in ("INPUT", "DFF")) == int(row["gates"]), rel
        data = gate_graph(nl)  # a signal that nothing drives is refused here
        assert data.num_nodes == len(nl.gates) + len(nl.outputs), rel
        assert data.edge_index.shape[1] == 2 * (sum(len(g.inputs) for g in nl.gates) + len(nl.outputs)), rel
    elif suffix in (".aig", ".aag"):
        row = stats["aig"][str(path.relative_to(SHARED / "circuits" / "epfl"))]
        kinds = [g.kind for g in read_aiger(path).gates]
        assert kinds.count("INPUT") == int(row["inputs"]) and kinds.count("AND") == int(row["and_gates"]), rel
    elif suffix == ".blif":
        row = stats["aig"][str(path.relative_to(SHARED / "circuits" / "epfl"))[: -len(".blif")] + ".aig"]
        nl = read_blif(path)
        assert sum(g.kind == "INPUT" for g in nl.gates) == int(row["inputs"]), rel
        assert len(nl.outputs) == int(row["outputs"]), rel
    elif rel.startswith("spice/align_ota/full_OTA/"):
        nl = read_spice(path)
        assert len(nl.devices) == _cdl_count(path)[0], rel
        _graph_checks(nl)
    elif rel.startswith("spice/align_ota/generator/"):
        nl = read_spice(path)  # no ending: a cell library of one cell, read as SPICE
        lines = [w for w in path.read_text().splitlines() if w and w[0].upper() in "MRCLDQ"]
        if not any(w[:1].upper() == "X" for w in path.read_text().splitlines()):
            assert len(nl.devices) == len(lines), rel
        _graph_checks(nl)
    elif rel.startswith("spice/analoggenie/"):
        nl = read_spectre(path)
        assert len(nl.devices) == _spectre_count(path), rel
        _graph_checks(nl)
    else:
        nl = read_netlist(path)
        assert isinstance(nl, AnalogNetlist) and nl.devices, rel
        _graph_checks(nl)


def _stats() -> Dict[str, Dict[str, Dict[str, str]]]:
    with open(SHARED / "circuits" / "bench_stats.csv", newline="") as f:
        bench = {r["file"]: r for r in csv.DictReader(f)}
    with open(SHARED / "circuits" / "epfl" / "aig_stats.csv", newline="") as f:
        aig = {r["file"]: r for r in csv.DictReader(f)}
    return {"bench": bench, "aig": aig}


def test_every_shared_netlist_reads_or_is_listed_as_unsupported():
    rows = unsupported_rows()
    assert {p for p, _, _ in rows} == set(FAILURES) | {"circuits/epfl/*/*.v"}
    stats = _stats()
    failed: Dict[str, List[str]] = {p: [] for p, _, _ in rows}
    read = {"gate": 0, "analog": 0}
    files = sorted(p for top in ("spice", "circuits") for p in (SHARED / top).rglob("*") if p.is_file())
    assert len(files) > 11_000
    for path in files:
        rel = str(path.relative_to(SHARED))
        is_fragment = rel.startswith("spice/align_ota/generator/") and "." not in path.name
        is_full_txt = rel.startswith("spice/analoggenie/") and path.name.endswith("_full.txt")
        if any(fnmatch.fnmatch(path.name, m) for m in METADATA) and not is_full_txt:
            continue
        if not (path.suffix.lower() in READERS or is_fragment or is_full_txt):
            pattern = next((p for p, _, _ in rows if fnmatch.fnmatch(rel, p)), None)
            assert pattern is not None, f"{rel}: neither read, metadata nor listed as unsupported in the README"
            failed[pattern].append(rel)
            continue
        try:
            if is_full_txt:
                nl = read_spectre(path)
                assert len(nl.devices) == _spectre_count(path)
            else:
                _check_read(rel, path, stats)
            read["gate" if rel.startswith("circuits/") else "analog"] += 1
        except NetlistError as e:
            pattern = next((p for p in FAILURES if fnmatch.fnmatch(rel, p)), None)
            assert pattern is not None, f"{rel}: fails ({e}) but the README does not list it"
            assert re.search(FAILURES[pattern], str(e)), f"{rel}: fails otherwise than the README says: {e}"
            failed[pattern].append(rel)
    for pattern, count, why in rows:
        assert len(failed[pattern]) == count, f"README says {count} files of {pattern} ({why}); found {failed[pattern]}"
    # the plain AnalogGenie files that fail are exactly those with a _full variant (read instead)
    plain = {Path(f).parent.name for f in failed["spice/analoggenie/Dataset/*/*.cir"]}
    full = {p.parent.name for p in (SHARED / "spice" / "analoggenie" / "Dataset").glob("*/*_full.*")}
    assert plain == full
    assert read["gate"] >= 45 + 19 + 20 - 1 and read["analog"] >= 4900
