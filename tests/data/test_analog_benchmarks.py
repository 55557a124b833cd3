"""The analog benchmarks by name (align_ota, analoggenie), analog netlist folders, and SPICE/Spectre detection."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import pytest
import torch

from hipool.data.netlists import benchmarks
from hipool.data.netlists.analog import NUM_ANALOG_FEATURES
from hipool.data.netlists.benchmarks import (
    ANALOGGENIE_CLASSES,
    OTA_FAMILIES,
    analoggenie_categories,
    load_benchmark,
    parse_spec,
)
from hipool.data.netlists.dataset import detect_analog_format, load_netlists, read_graph
from hipool.data.registry import load_dataset

SPICE = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "spice"
shared = pytest.mark.skipif(not SPICE.is_dir(), reason="../shared/datasets/spice is not here")


@shared
def test_align_ota_by_name():
    data = load_dataset("align_ota", SPICE)
    assert len(data) == 803 and data.num_features == NUM_ANALOG_FEATURES
    assert data.class_names == ["fully differential", "single-ended"]
    ys = torch.cat([g.y for g in data.graphs])
    assert ys.bincount().tolist() == [222, 581]
    assert any("123 netlists could not be read" in n for n in data.notes)
    g = next(g for g in data.graphs if g.graph_id == "single_ended_LG_nmos_cr13_1.sp")
    assert g.y.item() == 1 and g.level_labels.shape[1] == 2
    assert g.instance_paths[-1] == ["xiota", "xilg_nmos", "xibcr13_2"]  # the top's three instances


@shared
def test_align_ota_topology_labels_from_file_names():
    data = load_benchmark("align_ota:label=topology", SPICE / "..")  # <root>/spice/align_ota is found too
    assert set(data.class_names) <= set(OTA_FAMILIES.values())
    names = {Path(p).name for p in (SPICE / "align_ota" / "full_OTA").glob("*/*.sp")}
    for name in names:
        benchmarks._ota_label(Path(name), "topology")  # every shared file name has a family
    by_id = {g.graph_id: data.class_names[g.y.item()] for g in data.graphs}
    assert by_id["single_ended_LG_nmos_cr13_1.sp"] == "basic"
    assert by_id["single_ended_miller_compensated_LG_nmos_cr13_1.sp"] == "miller_compensated"
    pmos = [k for k in by_id if k.startswith("single_ended_current_mirror_pmos_LG_")]
    assert pmos and all(by_id[k] == "current_mirror" for k in pmos)  # a PMOS input pair joins its family


@shared
def test_analoggenie_classes_and_ports():
    data = load_benchmark("analoggenie", SPICE)
    counts = dict(zip(data.class_names, torch.cat([g.y for g in data.graphs]).bincount().tolist()))
    assert counts == {
        "LDO/regulator": 463,
        "PLL/synthesizer": 43,
        "RF front end": 126,
        "amplifier stage": 235,
        "bandgap/reference": 340,
        "comparator": 55,
        "current mirror/bias": 106,
        "op-amp": 574,
        "oscillator/VCO": 140,
        "power converter": 270,
        "switched-capacitor": 921,
    }
    assert any("filter (22)" in n for n in data.notes) and not any("could not be read" in n for n in data.notes)
    g = next(g for g in data.graphs if g.graph_id == "100.cir")
    k = len(benchmarks_kinds())
    assert int(g.x[:, k + 5].sum()) == 3  # Port100.txt: VDD VSS IOUT1
    full = next(g for g in data.graphs if g.graph_id == "1000_full.cir")
    assert (full.level_labels >= 0).any()
    items, _ = benchmarks._items(parse_spec("analoggenie:min_class=1"), SPICE / "analoggenie" / "Dataset")
    assert len(items) == 3273 + 22  # the filter class kept


def benchmarks_kinds():
    from hipool.data.netlists.analog import ANALOG_KINDS

    return ANALOG_KINDS


@shared
def test_categories_parsed_from_the_upstream_markdown_match_the_shared_csv():
    md = (SPICE / "analoggenie" / "Dataset" / "data_categorization.md").read_text(encoding="utf-8")
    cats = analoggenie_categories(md)
    with open(SPICE / "analoggenie" / "analoggenie_labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all((cats.get(int(r["id"])) or "") == r["category"] for r in rows)
    merged = {c for cs in ANALOGGENIE_CLASSES.values() for c in cs}
    assert len(merged) == sum(len(cs) for cs in ANALOGGENIE_CLASSES.values())  # no category in two classes


def test_category_ranges():
    md = "## x\n- 1-3: a\n  - 445–447, 493: b c\n- 9: d\nnot a range: 5\n"
    assert analoggenie_categories(md) == {
        1: "a",
        2: "a",
        3: "a",
        445: "b c",
        446: "b c",
        447: "b c",
        493: "b c",
        9: "d",
    }


@pytest.mark.parametrize(
    "spec, message",
    [
        ("align_ota:label=x", "give label=ended or label=topology"),
        ("align_ota:min_class=3", "unknown option 'min_class'; align_ota takes label"),
        ("analoggenie:min_class=0", "give a whole number from 1 to 100000"),
        ("analoggenie:min_class=1,min_class=2", "given twice"),
        ("analoggenie:oops", "options are key=value"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, "/nonexistent")


def _tarball(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_download_extracts_only_the_benchmark_folder_and_nothing_outside(tmp_path, monkeypatch):
    repo, commit, folder = benchmarks.SOURCES["align_ota"]
    prefix = f"{repo.split('/')[1]}-{commit}/{folder}/"
    netlist = b"* t\n.SUBCKT single_ended a b\nM1 a b 0 0 nmos\n.ENDS\nxi p q single_ended\n.END\n"
    payload = _tarball(
        [
            (prefix + "fully_differential_OTA/fully_differential_LG_nmos_cr1_1.sp", netlist),
            (prefix + "single_ended_OTA/single_ended_LG_nmos_cr1_1.sp", netlist),
            (prefix + "../../evil.sp", b"x"),
            ("other/file.sp", b"x"),
        ]
    )
    urls = []

    def fake_urlopen(url, timeout):
        urls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(benchmarks.urllib.request, "urlopen", fake_urlopen)
    data = load_benchmark("align_ota", tmp_path)
    assert urls == [f"https://codeload.github.com/{repo}/tar.gz/{commit}"]
    assert len(data) == 2 and [g.y.item() for g in data.graphs] == [0, 1]
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "align_ota/full_OTA/fully_differential_OTA/fully_differential_LG_nmos_cr1_1.sp",
        "align_ota/full_OTA/single_ended_OTA/single_ended_LG_nmos_cr1_1.sp",
    ]
    load_benchmark("align_ota", tmp_path)  # found now: no second download
    assert len(urls) == 1


def test_a_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(benchmarks.urllib.request, "urlopen", offline)
    with pytest.raises(ValueError, match=r"dataset analoggenie: not under .* and the download from .* failed"):
        load_benchmark("analoggenie", tmp_path)
    assert not any(tmp_path.iterdir())  # no partial folder left behind


# -- folders of analog netlists, and which dialect a file is ---------------------------------------
SPICE_OTA = "* an OTA\n.subckt ota a b y vdd\nm1 y a 0 0 nch w=1u l=1u\nm2 y b vdd vdd pch w=2u l=1u\n.ends\nx1 i j o vdd ota\nv1 vdd 0 1.8\n"
SPECTRE_RC = (
    "// rc\nsubckt rc (a b)\n  R0 (a b) resistor r=1k\n  C0 (b 0) capacitor c=1p\nends rc\nI1 (x y) rc\nI2 (y 0) rc\n"
)


def test_detection_by_content():
    assert detect_analog_format(SPICE_OTA) == "spice"
    assert detect_analog_format(SPECTRE_RC) == "spectre"
    assert detect_analog_format("M0 (IOUT1 net4 VSS VSS) nmos4\nR0 (VDD net4) resistor\n") == "spectre"
    assert detect_analog_format("title\nR1 a b 1k\nC1 b 0 1p\n.end\n") == "spice"
    assert detect_analog_format("simulator lang=spice\nR1 a b 1k\n") == "spice"
    assert detect_analog_format("simulator lang=spectre\n") == "spectre"


def test_a_folder_of_analog_netlists_in_both_dialects(tmp_path):
    (tmp_path / "a.cir").write_text(SPICE_OTA)
    (tmp_path / "b.cir").write_text(SPECTRE_RC)  # the same ending, the other dialect
    (tmp_path / "c.scs").write_text(SPECTRE_RC)
    (tmp_path / "labels.csv").write_text("file,label\na.cir,amp\nb.cir,rc\nc.scs,rc\n")
    data = load_netlists(tmp_path)
    assert data.num_features == NUM_ANALOG_FEATURES and data.class_names == ["amp", "rc"]
    assert [g.num_nodes for g in data.graphs] == [3 + 5, 4 + 3, 4 + 3]
    assert all(g.level_labels.shape[1] == 1 for g in data.graphs)
    assert read_graph(tmp_path / "b.cir").graph_id == "b.cir"
    (tmp_path / "d.bench").write_text("INPUT(a)\nOUTPUT(b)\nb = NOT(a)\n")
    with open(tmp_path / "labels.csv", "a") as f:
        f.write("d.bench,rc\n")
    with pytest.raises(ValueError, match=r"analog netlists \(a.cir, ...\) and gate-level ones \(d.bench, ...\)"):
        load_netlists(tmp_path)


@pytest.mark.parametrize(
    "md, message",
    [
        ("x\n- 1-999999999: huge\n", r"data_categorization.md:2: the range 1-999999999 is empty or longer"),
        ("- 5-3: backwards\n", r"data_categorization.md:1: the range 5-3 is empty"),
        ("- 1 2: spaced\n", r"data_categorization.md:1: '1 2' is not an id"),
    ],
)
def test_bad_category_lines_are_named(md, message):
    with pytest.raises(ValueError, match=message):
        analoggenie_categories(md)
