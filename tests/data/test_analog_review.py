"""Review probes of the analog-netlist readers (values, analog, spice, spectre, benchmarks,
dataset detection).

The first part holds one failing test per bug found (each passes once the bug is fixed);
the second part keeps passing probes as regression tests of documented behaviour
(untrusted input: includes never escape, no hang, only NetlistError)."""

from __future__ import annotations

import gzip
import io
import os
import signal
import tarfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest

from hipool.data.netlists import benchmarks, spectre, spice
from hipool.data.netlists.analog import MAX_DEPTH, flatten, to_data
from hipool.data.netlists.benchmarks import load_benchmark
from hipool.data.netlists.dataset import detect_analog_format, read_netlist
from hipool.data.netlists.gates import NetlistError
from hipool.data.netlists.spectre import read_spectre
from hipool.data.netlists.spice import parse_spice, read_spice
from hipool.data.netlists.values import evaluate


def _write(folder: Path, text: str, name: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _devices(netlist):
    return {d.name: d for d in netlist.devices}


@contextmanager
def _deadline(seconds: int):
    """Fail (TimeoutError) instead of hanging the test run."""

    def expired(signum, frame):  # noqa: ANN001
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _chain(depth: int, bottom_up: bool) -> str:
    """A non-recursive chain s0 -> s1 -> ... of ``depth`` subcircuits, defined leaf first
    (``bottom_up``) or top first."""
    blocks = []
    for i in range(depth):
        body = "r1 a b 1k" if i == depth - 1 else f"x1 a b s{i + 1}"
        blocks.append(f".subckt s{i} a b\n{body}\n.ends\n")
    if bottom_up:
        blocks.reverse()
    return "* chain\n" + "".join(blocks) + "x0 p q s0\n"


# =============================================================================================
# Part 1: bugs (each test fails now)
# =============================================================================================


# -- analog.flatten: hangs and crashes ----------------------------------------------------------
def test_exponential_hierarchy_of_empty_subckts_is_refused_fast(tmp_path):
    """_sizes counts devices only: 2**40 instances of an empty subcircuit count as 0 devices, pass
    the MAX_DEVICES check, and flatten() then expands every instance (a hang)."""
    lines = ["* exp", ".subckt s0 a b", ".ends"]
    for i in range(1, 41):
        lines += [f".subckt s{i} a b", f"x1 a b s{i - 1}", f"x2 a b s{i - 1}", ".ends"]
    lines += ["x0 p q s40", "r1 p q 1k"]
    design = parse_spice(_write(tmp_path, "\n".join(lines) + "\n", "t.sp"))
    start = time.perf_counter()
    with _deadline(3):
        try:
            flatten(design)
        except NetlistError:
            pass  # refusing it is fine too
    assert time.perf_counter() - start < 3


@pytest.mark.parametrize("depth", [MAX_DEPTH + 50, 1200])
def test_nesting_depth_is_checked_whatever_the_definition_order(tmp_path, depth):
    """_sizes measures depth along the current DFS chain only; a subcircuit already visited (a
    chain defined leaf first) returns its memoised size without its depth.  250 levels are then
    accepted although MAX_DEPTH is 200, and 1200 levels crash flatten's recursion with a
    RecursionError instead of a NetlistError."""
    path = _write(tmp_path, _chain(depth, bottom_up=True), "t.sp")
    with pytest.raises(NetlistError, match="deeper than"):
        read_spice(path)


# -- analog.flatten: parameters ----------------------------------------------------------------
def test_an_instance_parameter_is_not_overridden_by_the_callers_parameter(tmp_path):
    """flatten() adds instance parameters the subcircuit does not declare with setdefault(): the
    caller's value of the same name wins over the value the instance gives.  Without the
    top-level .param the device gets 5; adding an unrelated top-level w=1 silently changes it."""
    body = ".subckt s a b\nr1 a b {w}\n.ends\nx1 p q s w=5\n"
    assert read_spice(_write(tmp_path, "* a\n" + body, "a.sp")).devices[0].value == 5.0
    net = read_spice(_write(tmp_path, "* b\n.param w=1\n" + body, "b.sp"))
    assert net.devices[0].value == 5.0


# -- analog.flatten: inline subcircuits (Spectre) ----------------------------------------------
def test_a_link_to_the_namesake_of_an_inline_subckt_resolves(tmp_path):
    """Inside an inline subckt the namesake device is renamed to the instance's name, but links
    are still built as <instance>/<name>: a mutual inductor coupling the namesake inductor makes
    to_data() refuse a valid netlist ('refers to device X1/ind2, which is not defined')."""
    text = (
        "inline subckt ind2 (a b)\n"
        "  ind2 (a b) inductor l=1n\n"
        "  Lx (a 0) inductor l=1n\n"
        "  K1 mutual_inductor ind1=ind2 ind2=Lx coupling=0.5\n"
        "ends ind2\n"
        "X1 (p q) ind2\n"
    )
    net = read_spectre(_write(tmp_path, text, "t.scs"))
    assert _devices(net)["X1/K1"].links == ["X1", "X1/Lx"]
    to_data(net)


def test_nested_inline_subckts_add_no_level(tmp_path):
    """An inline subckt whose namesake is itself an instance of an inline subckt: the docstring
    says an inline instance adds no level and its namesake takes the instance's name, so the one
    resistor is 'X1' at the top level; flatten() names it 'X1/r2' inside instance ('X1',)."""
    text = (
        "inline subckt r1 (a b)\n  r1 (a b) resistor r=1\nends r1\n"
        "inline subckt r2 (a b)\n  r2 (a b) r1\nends r2\n"
        "X1 (p q) r2\n"
    )
    (d,) = read_spectre(_write(tmp_path, text, "t.scs")).devices
    assert (d.name, d.instance) == ("X1", ())


# -- spectre: analyses skipped before the whole file is read -----------------------------------
def test_instance_of_a_subckt_named_like_an_analysis_defined_later_is_kept(tmp_path):
    """instance() skips a statement whose master is an analysis type unless a subckt or model of
    that name is *already* defined; masters are otherwise resolved after the whole file (rule 1:
    'before or after the instance').  X1 of subckt 'noise' defined below it silently vanishes."""
    text = "X1 (p q) noise\nsubckt noise (a b)\n  R0 (a b) resistor r=1k\nends noise\nR9 (p 0) resistor r=1\n"
    net = read_spectre(_write(tmp_path, text, "t.scs"))
    assert sorted(_devices(net)) == ["R9", "X1/R0"]


# -- spectre: the file budget across SPICE sections ---------------------------------------------
def test_spice_sections_share_the_designs_file_budget(tmp_path, monkeypatch):
    """Every 'simulator lang=spice' section makes a new spice._Reader with files=0: each section
    may read MAX_FILES files, so a design reads (sections x MAX_FILES) files, not MAX_FILES."""
    monkeypatch.setattr(spice, "MAX_FILES", 5)
    monkeypatch.setattr(spectre, "MAX_FILES", 5)
    _write(tmp_path, "r1 a b 1\n", "r.sp")
    _write(tmp_path, ".include r.sp\n" * 3, "a.sp")
    text = "R0 (a b) resistor r=1\n" + "simulator lang=spice\n.include a.sp\nsimulator lang=spectre\n" * 5
    with pytest.raises(NetlistError, match="more than 5 files"):
        read_spectre(_write(tmp_path, text, "t.scs"))  # reads 20 files now


# -- spice: element and card parsing -----------------------------------------------------------
def test_mutual_inductor_coupling_given_by_a_parameter_starting_with_l(tmp_path):
    """_build_coupling takes every leading word starting with 'l' as an inductor, so a coupling
    written as a parameter named l... (K1 L1 L2 lk) becomes a third inductor link and to_data()
    refuses the valid netlist.  The coupling is always the last word of a K line."""
    text = "* k\n.param lk=0.9\nl1 a 0 1n\nl2 b 0 1n\nk1 l1 l2 lk\n"
    net = read_spice(_write(tmp_path, text, "t.sp"))
    k = _devices(net)["k1"]
    assert (k.links, k.value) == (["l1", "l2"], pytest.approx(0.9))
    to_data(net)


def test_if_condition_with_parentheses_inside_a_comparison(tmp_path):
    """condition() strips *all* leading '(' and trailing ')' of each side of the comparison
    (str.strip('()')), so '.if ((w+1)*2 == 4)' evaluates 'w+1)*2' and a valid condition over a
    top-level parameter with one comparison is refused."""
    text = "* if\n.param w=1\n.if ((w+1)*2 == 4)\nr1 a b 1\n.else\nr2 a b 2\n.endif\n"
    net = read_spice(_write(tmp_path, text, "t.sp"))
    assert sorted(_devices(net)) == ["r1"]


@pytest.mark.parametrize("card", [".lib tt", ".control", ".data"])
def test_an_unterminated_skipped_block_is_an_error(tmp_path, card):
    """A '.lib section' definition, .control or .data without its .endl/.endc/.enddata skips the
    rest of the file silently: r1 below is dropped and the design reads as r0 alone."""
    text = f"* t\nr0 a b 1\n{card}\nr1 a b 1\n"
    path = _write(tmp_path, text, "t.sp")
    with pytest.raises(NetlistError):
        read_spice(path)


# -- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1/1e999", "exp(-1e999)"])
def test_an_overflowing_literal_is_unknown_not_a_finite_value(text):
    """The docstring: an expression that overflows evaluates to None.  A literal like 1e999 is
    read as float('inf') by _tokens, and arithmetic that turns inf back into a finite number
    (1/inf == 0) returns that number: 1/1e999 is 0.0."""
    assert evaluate(text, {}) is None


# -- dataset: dialect detection ----------------------------------------------------------------
def test_spectre_file_starting_with_a_spice_section_is_detected_as_spectre(tmp_path):
    """detect_analog_format() returns 'spice' at the first 'simulator lang=spice' line, but that
    statement only exists in Spectre: a Spectre netlist that opens with a SPICE section (models
    in SPICE syntax, then 'simulator lang=spectre') goes to the SPICE reader, which fails on the
    'simulator lang=spectre' line.  read_spectre reads the same file fine."""
    text = "simulator lang=spice\n.model qn npn\nsimulator lang=spectre\nQ1 (c b e) qn\nR1 (c 0) resistor r=1k\n"
    assert detect_analog_format(text) == "spectre"
    net = read_netlist(_write(tmp_path, text, "t.scs"))
    assert sorted(_devices(net)) == ["Q1", "R1"]


def test_spectre_without_parentheses_is_detected_as_spectre(tmp_path):
    """Spectre's instance form without parentheses (documented by the Spectre reader) looks like
    SPICE element lines to the vote: a file whose 'subckt'/'ends'/'model' statements can only be
    Spectre is read by the SPICE reader ('element subckt (S) needs four nodes')."""
    text = (
        "// inverters\nsubckt inv a y\n  MN y a 0 0 nch w=1u l=1u\nends inv\n"
        "I1 in out inv\nI2 out o2 inv\nI3 o2 o3 inv\nmodel nch bsim4 type=n\n"
    )
    assert detect_analog_format(text) == "spectre"
    read_netlist(_write(tmp_path, text, "t.scs"))


# -- benchmarks: download ----------------------------------------------------------------------
_REPO, _COMMIT, _FOLDER = benchmarks.SOURCES["align_ota"]
_PREFIX = f"{_REPO.split('/')[1]}-{_COMMIT}/{_FOLDER}/"
_NET = b"* t\n.SUBCKT single_ended a b\nM1 a b 0 0 nmos\n.ENDS\nxi p q single_ended\n.END\n"
_GOOD = [
    "fully_differential_OTA/fully_differential_LG_nmos_cr1_1.sp",
    "single_ended_OTA/single_ended_LG_nmos_cr1_1.sp",
    "single_ended_OTA/single_ended_LG_nmos_cr1_2.sp",
]


def _raw_tar(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _serve(monkeypatch, payload: bytes) -> None:
    monkeypatch.setattr(benchmarks.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))


def test_a_download_cut_short_is_not_installed(tmp_path, monkeypatch):
    """The stream-mode tarfile stops silently at a truncated header after the first member
    (EmptyHeader/TruncatedHeader at offset > 0 end the iteration), and _download never checks
    that the archive or the gzip stream ended: a connection cut there installs a partial
    benchmark for good (1 of 3 netlists here; the next load finds the marker and never
    downloads again)."""
    raw = _raw_tar([(_PREFIX + n, _NET, "file") for n in _GOOD])
    cut = 4 * 512 + 100  # the received data ends inside the third member's header
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip, as codeload sends it, cut before its trailer
    _serve(monkeypatch, z.compress(raw[:cut]) + z.flush(zlib.Z_SYNC_FLUSH))
    with pytest.raises(ValueError):
        load_benchmark("align_ota", tmp_path)
    assert not (tmp_path / "align_ota").exists()


def test_a_corrupt_download_is_a_clear_error(tmp_path, monkeypatch):
    """_download turns only OSError into its 'download failed' ValueError; a truncated or garbled
    gzip stream raises tarfile.ReadError (and a dropped chunked transfer http.client.IncompleteRead)
    straight through."""
    raw = gzip.compress(_raw_tar([(_PREFIX + n, _NET * 20, "file") for n in _GOOD]))
    _serve(monkeypatch, raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="download"):
        load_benchmark("align_ota", tmp_path)
    assert not any(tmp_path.iterdir())


# =============================================================================================
# Part 2: regression tests of documented behaviour (these pass)
# =============================================================================================


def test_deep_chain_defined_top_first_is_refused(tmp_path):
    with pytest.raises(NetlistError, match=f"nest deeper than {MAX_DEPTH}"):
        read_spice(_write(tmp_path, _chain(MAX_DEPTH + 50, bottom_up=False), "t.sp"))


def test_exponential_hierarchy_of_devices_is_refused_before_building(tmp_path):
    lines = ["* exp", ".subckt s0 a b", "r1 a b 1", ".ends"]
    for i in range(1, 31):
        lines += [f".subckt s{i} a b", f"x1 a b s{i - 1}", f"x2 a b s{i - 1}", ".ends"]
    lines += ["x0 p q s30"]
    path = _write(tmp_path, "\n".join(lines) + "\n", "t.sp")
    start = time.perf_counter()
    with _deadline(5), pytest.raises(NetlistError, match=r"flattens to [\d,]+ devices"):
        read_spice(path)
    assert time.perf_counter() - start < 2


def test_names_and_levels_across_three_levels_with_globals(tmp_path):
    text = (
        "* levels\n.global vdd\n"
        ".subckt leaf a\nr1 a vdd! 1\nr2 n vdd 1\nr3 n 0 1\nr5 a n 1\n.ends\n"
        ".subckt mid a\nx1 a leaf\nx2 m leaf\nr4 a m 1\n.ends\n"
        "xa top mid\n"
    )
    net = read_spice(_write(tmp_path, text, "t.sp"))
    nets = {d.name: d.nets for d in net.devices}
    assert nets["xa/x1/r1"] == ["top", "vdd!"] and nets["xa/x1/r5"] == ["top", "xa/x1/n"]
    assert nets["xa/x2/r1"] == ["xa/m", "vdd!"] and nets["xa/x2/r5"] == ["xa/m", "xa/x2/n"]
    assert nets["xa/x2/r2"] == ["xa/x2/n", "vdd"] and nets["xa/x2/r3"] == ["xa/x2/n", "0"]
    assert net.nets["top"] == () and net.nets["xa/m"] == ("xa",) and net.nets["xa/x2/n"] == ("xa", "x2")
    assert net.nets["vdd"] == () and net.nets["vdd!"] == () and net.nets["0"] == ()
    data = to_data(net)
    assert data.level_labels.shape[1] == 2


def test_links_inside_subckt_instances_resolve_per_instance(tmp_path):
    text = (
        "* links\n.subckt s a b\nl1 a 0 1n\nl2 b 0 1n\nk1 l1 l2 0.9\nv1 a c 0\nf1 b 0 v1 2\n.ends\nx1 p q s\nx2 r t s\n"
    )
    net = read_spice(_write(tmp_path, text, "t.sp"))
    d = _devices(net)
    assert d["x2/k1"].links == ["x2/l1", "x2/l2"] and d["x1/f1"].links == ["x1/v1"]
    data = to_data(net)
    k = list(d).index("x2/k1")
    coupled = data.edge_index[1][(data.edge_index[0] == k)].tolist()
    assert sorted(coupled) == sorted([list(d).index("x2/l1"), list(d).index("x2/l2")])


def _escapes(root: Path) -> dict:
    """Include targets inside ``root/net`` that are not regular files inside it."""
    folder = root / "net"
    folder.mkdir()
    _write(root, "r9 a b 1\n", "secret.sp")
    os.symlink("/dev/zero", folder / "zero.sp")
    os.symlink(root / "secret.sp", folder / "link.sp")
    os.mkfifo(folder / "fifo.sp")
    (folder / "dir.sp").mkdir()
    os.symlink(folder, folder / "self")
    return {
        "zero.sp": "escapes|outside",
        "link.sp": "escapes|outside",
        "fifo.sp": "not a file|no such file",
        "dir.sp": "not a file|no such file",
        "../secret.sp": "escapes|outside",
        str(root / "secret.sp"): "escapes|outside",
        "self/self/../secret.sp": "escapes|outside",
    }


def test_includes_never_escape_nor_block(tmp_path):
    cases = _escapes(tmp_path)
    folder = tmp_path / "net"
    with _deadline(10):
        for name, message in cases.items():
            sp = _write(folder, f"* t\n.include '{name}'\nr1 a b 1\n", "t.sp")
            with pytest.raises(NetlistError, match=message):
                read_spice(sp)
            sp = _write(folder, f"* t\n.lib '{name}' tt\nr1 a b 1\n", "t.sp")
            with pytest.raises(NetlistError, match=message):
                read_spice(sp)
            scs = _write(folder, f'include "{name}"\nR1 (a b) resistor r=1\n', "t.scs")
            with pytest.raises(NetlistError, match=message):
                read_spectre(scs)


def test_spectre_device_named_like_an_analysis_is_kept(tmp_path):
    text = "tran1 (a b) resistor r=1k\ndc (a 0) vsource dc=1\ntran2 tran stop=1u\nnoise1 (a 0) noise start=1\n"
    net = read_spectre(_write(tmp_path, text, "t.scs"))
    assert sorted(_devices(net)) == ["dc", "tran1"]


def test_spectre_double_slash_inside_a_string_is_not_a_comment(tmp_path):
    _write(tmp_path, "R2 (a b) resistor r=2\n", "sub/x.scs")
    net = read_spectre(_write(tmp_path, 'include "sub//x.scs" // a comment\nR1 (a b) resistor r=1\n', "t.scs"))
    assert sorted(_devices(net)) == ["R1", "R2"]


@pytest.mark.parametrize(
    "value",
    [
        "{" + "(" * 3000 + "1" + ")" * 3000 + "}",
        "(" * 3000 + "1" + ")" * 3000,
        "{" * 3000 + "1" + "}" * 3000,
        "'" + "-" * 1900 + "1'",
        "'" + "2^" * 900 + "2'",
        "x" * 100_000,
    ],
)
def test_pathological_values_are_unknown_or_read_never_a_crash(tmp_path, value):
    net = read_spice(_write(tmp_path, f"* t\nr1 a b {value}\n", "t.sp"))
    assert len(net.devices) == 1


@pytest.mark.parametrize(
    "text",
    [
        "1e999",
        "1e999*0",
        "int(1e999)",
        "pwr(0,-1)",
        "10 % 0",
        "sqrt(-1)",
        "log(0)",
        "pow(-8, 0.5)",
        "cosh(1e9)",
        "floor(1e999)",
        "min(1)",
        "a(",
        "((((",
        "1 2",
        "__import__('os')",
        "1e308*10",
    ],
)
def test_evaluate_never_raises(text):
    assert evaluate(text, {"a": 1.0}) is None


def test_poly_with_a_huge_count_is_an_error_not_an_allocation(tmp_path):
    with pytest.raises(NetlistError, match=r"needs 200000 controlling nodes"):
        read_spice(_write(tmp_path, "* t\ne1 o 0 poly(100000) a b\n", "t.sp"))


def test_download_writes_nothing_outside_its_folder(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    members = [(_PREFIX + "fully_differential_OTA", str(outside).encode(), "symlink")]
    members += [(_PREFIX + n, _NET, "file") for n in _GOOD]
    members += [(_PREFIX + "a/../../../evil.sp", b"x", "file"), ("/abs/evil.sp", b"x", "file")]
    _serve(monkeypatch, gzip.compress(_raw_tar(members)))
    root = tmp_path / "data"
    assert len(load_benchmark("align_ota", root)) == 3
    assert not outside.exists()
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.is_dir())
    assert files == ["data/align_ota/full_OTA/" + n for n in sorted(_GOOD)]
    assert not any(p.is_symlink() for p in root.rglob("*"))
