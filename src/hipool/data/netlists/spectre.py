r"""Spectre netlists (Cadence's simulator language), parsed into a
:class:`~hipool.data.netlists.analog.Design` and flattened by
:func:`~hipool.data.netlists.analog.flatten`.

A netlist is a list of statements, one a line::

    // Spectre: names are case-sensitive, M is mega and m milli
    simulator lang=spectre
    global 0 vdd!
    parameters wn=2u
    include "models.scs" section=tt
    model nch bsim4 type=n
    subckt inv (a y vdd vss)            // or: subckt inv a y vdd vss
        parameters wp=4u
        MP (y a vdd vdd) pch w=wp l=180n
        MN (y a vss vss) nch w=wn l=180n
    ends inv
    I1 (in out vdd! 0) inv wp=6u
    R0 (out 0) resistor r=2M
    tran1 tran stop=1u                   // analyses are skipped

**Lines.**  ``//`` starts a comment anywhere outside a ``"string"``; a line whose first
character (after blanks) is ``*`` is a comment; ``\`` at the end of a line continues the
statement on the next; blank lines, ``\r\n`` endings, tabs and a UTF-8 byte-order mark are
fine.  Errors name the line where the statement starts.

**Instances** ``name (n1 n2 ...) master p1=v1 p2=v2 ...``: the nets in parentheses, then the
master, then parameters.  Without parentheses (``name n1 n2 master p=v``) the nets are the
tokens before the master, and the master is the last token before the first ``p=v``; an
instance may have no nets (``K1 mutual_inductor ind1=L1 ind2=L2 coupling=0.9``).  A value
is one token, or a parenthesised or bracketed group that may hold blanks (``w=(a + b)``,
``wave=[0 0 1n 1.8]``); ``p = v`` with blanks around ``=`` is read too, and a token after a
value that is not ``name=`` continues that value (``r=a + b``).  Values stay texts;
:func:`~hipool.data.netlists.analog.flatten` evaluates them (:mod:`~.values`, Spectre's
suffixes: ``T G M K k m u n p f a``).  The master decides the instance's family
(:attr:`~hipool.data.netlists.analog.Element.letter`), first rule that applies:

1. a subcircuit defined in the file (or an included one), before or after the instance: ``X``;
2. a ``model name type ...`` statement: the family of ``type`` (below); ``type=n|p``
   (``npn|pnp`` for bipolars) is the polarity, recorded in ``Design.models`` as SPICE's
   ``nmos pmos npn pnp njf pjf nmf pmf``; without ``type=`` the type is recorded as
   written (``bsim4``) and the model's name decides the polarity, as for SPICE.  A
   binned model (``model nch bsim4 { 1: type=n ... }``) takes the first ``type=`` of its block;
3. a ``.model`` card of a SPICE section (``simulator lang=spice``): its type;
4. one of Spectre's primitives (:data:`PRIMITIVES`): ``resistor`` R, ``capacitor`` C,
   ``inductor`` L, ``mutual_inductor`` K (its inductors from ``ind1=``/``ind2=``, its value
   ``coupling=``), ``diode`` D, ``bjt`` Q, ``jfet`` J, ``vsource``/``port``/``iprobe`` V,
   ``isource`` I, ``vcvs``/``pvcvs`` E (``gain=``), ``vccs``/``pvccs`` G (``gm=``), ``cccs``
   F (``gain=``) and ``ccvs`` H (``rm=``), both sensing the source named by ``probe=``,
   ``bsource`` B, ``switch``/``relay`` S, ``tline`` T; and the device types a ``model`` may
   name (:func:`family`): MOS M (``mos*``, ``bsim*``, ``b3soi*``, ``psp*``, ``ekv*``,
   ``hisim*``, ``hvmos*``, ``tft*``), bipolar Q (``bjt*``, ``vbic*``, ``hicum*``,
   ``mextram*``, ``hbt*``), ``jfet*`` J, MESFET Z (``gaas``, ``tom2``, ``tom3``,
   ``mesfet*``), diode D (``diode*``, ``juncap*``, ``dio500``), ``phy_res`` R;
5. a name with a device's look (case-insensitive prefix, and only when the instance's net
   count fits the family): ``nmos pmos nch pch nfet pfet`` M, ``npn pnp`` Q, ``res`` R,
   ``cap`` C, ``ind`` L, ``dio`` D.  This reads schematic exports that name analogLib's
   cells (``nmos4``, ``pmos4``, ``npn``, ``pnp``) without defining them; the polarity comes
   from the name (``nmos4`` is NMOS, ``pnp`` PNP).  Nothing else is guessed:
6. else ``file:line: instance X of master 'foo', which is neither a primitive, a model nor
   a subcircuit defined in the file``.

A device's main value (:data:`MAIN_PARAMETER`) is ``r`` for R, ``c`` C, ``l`` L,
``coupling`` K, ``area`` D Q J Z, ``dc`` V I, ``gain`` E F, ``gm`` G, ``rm`` H, and ``w/l``
for MOS; without it, :func:`~hipool.data.netlists.analog.flatten` looks for its other keys.

**Statements.**  ``subckt name (ports)`` / ``subckt name ports`` / ``inline subckt ...``
... ``ends [name]`` defines a subcircuit; definitions may nest (a nested definition is
visible to the whole file, where Spectre scopes it to its parent) and a name may be defined
once.  An ``inline subckt`` adds no level of hierarchy: its device named like the
subcircuit takes the instance's name, and its other devices are named ``<instance>/<name>``
at the caller's level (:class:`~hipool.data.netlists.analog.Subckt`).  ``parameters a=1 b=2`` at the top level are the
design's parameters; inside a subcircuit they are its parameters' defaults, which an
instance's ``name=value`` overrides.  ``global 0 vdd!`` declares global nets (a name
ending in ``!`` is global only when declared, as in Spectre).  ``include "file"
[section=s]`` (and ``#include``) reads another file, starting in Spectre syntax, relative
to the including file's folder; its real path must lie inside the folder of the file given
to :func:`read_spectre` (no escape through ``..`` or links); a missing file, a loop (the chain is named), more than
:data:`MAX_FILES` files or a nesting deeper than :data:`MAX_INCLUDE_DEPTH` are errors.
``library name`` ... ``endlibrary`` and ``section name`` ... ``endsection`` delimit a model
library: a file read as a whole skips every library and section, and
``include "f" section=s`` reads only section ``s`` of ``f`` (a file without it is an
error).  ``ahdl_include`` (Verilog-A) is not opened: an instance of a Verilog-A module is
an unknown master.

**Skipped** without error: analyses and control statements, written ``name type ...``
(``tran1 tran stop=1u``, ``simulatorOptions options reltol=1e-3``, ``dcOp dc``; the types
are :data:`ANALYSES`) unless the file defines a subcircuit or model of that name; the
statements ``save``, ``ic``, ``nodeset``, ``statistics``, ``process``, ``mismatch``,
``vary``, ``correlate``, ``truncate``, ``real``, ``export``; and every ``{ ... }`` block
(``statistics {...}``, ``sweep ... {...}``, ``montecarlo ... {...}``, functions,
``paramset``: an instance of a paramset is an unknown master).  ``if (...) { ... } else
{ ... }``: the first branch is read, the others skipped (conditions are not evaluated).
Other preprocessor lines (``#define``, ``#ifdef``, ...) are refused, and so is a SPICE dot
card (``.model``, ``.ends``) outside a SPICE section.

**Languages.**  ``simulator lang=spice`` switches to SPICE until ``simulator
lang=spectre`` (or the end of the file): that text goes to
:func:`hipool.data.netlists.spice.parse_spice_text`, which adds its elements, subcircuits,
models, parameters and globals to the same design with SPICE's syntax.  As the design is a
Spectre one, its names **keep their case** (SPICE would fold them; the SPICE reader folds
only element parameter names, ``W=`` is ``w``), so Spectre statements and SPICE cards
refer to each other's subcircuits and models as written.  Its numbers are rewritten to
plain ones (``1meg`` is ``1000000.0``, ``1M`` is ``0.001``) so that they keep SPICE's
meaning in this Spectre design.  A SPICE model's type (``.model qn npn``) decides the
family of a Spectre instance of it.  A switch inside a subcircuit or a ``{}`` block is
refused; an included file starts in Spectre.  ``simulator lang=spectre
insensitive=yes`` is read, but names stay case-sensitive.

**Errors** are :class:`~hipool.data.netlists.gates.NetlistError`, ``file:line: what is
wrong``: a ``subckt`` without ``ends``, an ``ends`` without ``subckt`` or naming another,
an unbalanced parenthesis or quote, an instance without master, an unknown master, a
parameter without value, a subcircuit or model defined twice, an instance of a model whose
type is no device hipool reads (``model m verilogmod``), an unbalanced ``{}``, a bad
``include``, a file that is not UTF-8 text or holds a NUL byte; and those of
:func:`~hipool.data.netlists.analog.flatten`.  Reading never runs anything from the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from . import spectre_masters
from .analog import AnalogNetlist, Design, flatten
from .gates import no_cyclic_gc
from .spectre_masters import family
from .spectre_reader import SpectreReader

# Defined in spectre_masters; exported here too, under the names the docstring above uses.
#: Spectre's primitive masters: the SPICE letter and the parameters naming other devices.
PRIMITIVES = spectre_masters.PRIMITIVES
#: The parameter holding a family's main value (MOS: ``w``/``l``, read by ``flatten``).
MAIN_PARAMETER = spectre_masters.MAIN_PARAMETER
#: Analysis and control types (``name type ...`` statements, skipped).
ANALYSES = spectre_masters.ANALYSES

#: Most files one design may read (the main file and its includes).
MAX_FILES = 1000
#: Deepest nesting of ``include``.
MAX_INCLUDE_DEPTH = 50


def parse_spectre(path: Union[str, os.PathLike], ports: Optional[Sequence[str]] = None) -> Design:
    """The :class:`~hipool.data.netlists.analog.Design` of a Spectre file (see the module
    docstring): named after the file's stem, every instance's master resolved to its family.

    Args:
        path: the netlist file (UTF-8 text); the files it includes must lie in its folder.
        ports: the design's pins (``Design.ports``, marked ``is_port``), e.g. the names of
            AnalogGenie's ``Port<id>.txt``; default none.

    Raises:
        NetlistError: ``file:line: what is wrong`` (see the module docstring).
    """
    main = Path(path)
    reader = SpectreReader(main, MAX_FILES, MAX_INCLUDE_DEPTH)
    if ports is not None:
        reader.design.ports = [str(p) for p in ports]
    real = os.path.realpath(main)
    with no_cyclic_gc():
        reader.read(str(main), real, None, [(real, None, str(main))])
        reader.resolve()
    return reader.design


def read_spectre(path: Union[str, os.PathLike], ports: Optional[Sequence[str]] = None) -> AnalogNetlist:
    """A Spectre netlist, flattened: ``flatten(parse_spectre(path, ports))`` (see
    :func:`parse_spectre` and :func:`~hipool.data.netlists.analog.flatten`)."""
    design = parse_spectre(path, ports)
    with no_cyclic_gc():
        return flatten(design)


__all__ = ["ANALYSES", "MAX_FILES", "MAX_INCLUDE_DEPTH", "PRIMITIVES", "family", "parse_spectre", "read_spectre"]
