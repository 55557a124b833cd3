r"""SPICE, ngspice, HSPICE-style and CDL netlists, read into the analog record of
:mod:`hipool.data.netlists.analog`.

:func:`parse_spice` reads a file (and the files it includes) into a
:class:`~hipool.data.netlists.analog.Design`; :func:`read_spice` flattens it into an
:class:`~hipool.data.netlists.analog.AnalogNetlist`; :func:`parse_spice_text` reads SPICE
text into a design that another reader (Spectre's ``simulator lang=spice``) is building.
Reading never runs anything from the file: expressions are evaluated by
:mod:`~hipool.data.netlists.values`, and ``.control`` scripts are skipped unread.

**Lines.**  The first line of the main file is its *title* and is skipped (SPICE's rule,
as ngspice and HSPICE apply it), unless it is blank or starts with ``*`` or ``.`` (a CDL
file's banner, a netlist that starts with a card); included files have no title.  Names
are case-insensitive and folded to lower case.  A line whose first character (after
blanks) is ``+`` continues the statement before it; full-line comments and blank lines may
stand between the two, and errors name the statement's first line.  Comments: a line
starting with ``*`` or ``//``; the rest of a line from ``;``, and from a ``$`` or ``//``
that starts the line or follows a blank.  Three CDL forms of ``$`` are read, not
comments: ``$[name]`` (the element's model: ``C1 a b 1p $[cmim]``), ``$.MODEL=name`` (the
same), and ``$PINS pin=net ...`` on an ``X`` line (its connections by port name, used when
the subcircuit is defined and every port is named).  Tabs are blanks; ``\r\n`` line ends,
a UTF-8 byte-order mark, and a last line without a newline are fine.

**Statements** are whitespace-separated tokens; ``name=value`` (blanks around ``=``
allowed) is a parameter, its value a number with an SI suffix (``4.7k``, ``10uF``,
``2meg``), a name, ``{expression}`` or ``'expression'`` (which may hold blanks) or
``f(...)``.  ``(`` ``)`` and ``,`` separate tokens: a parenthesized node list ``(a b c)``
reads as its nodes.  A token after the first parameter of an element is ignored (a flag
such as ``off``).  An unbalanced ``{``, ``(`` or quote is an error.

**Elements** (the first letter is the family, the name is the whole token):

=========  ============================================================================
``R C L``  ``R1 n1 n2 [model] [value]`` (value and model in either order; ``r=``/``c=``
           ``l=`` too, and CDL's ``res=``/``cap=``/``ind=``).  A lone name in the value's
           place is the model if a ``.model`` card of that name exists, else the value
           (a parameter: unknown if no scope defines it).
``D``      ``D1 a k model [area]``
``Q``      ``Q1 c b e [s] model [area]``; ``J1``/``Z1 d g s model [area]``;
``M``      ``M1 d g s [b ...] model [l w]`` (3 to 7 nodes; the model is the last token
           that is not a number; HSPICE's positional ``l w`` follow it); W/L from ``w=``
           ``l=``.  ``off``/``on`` flags of these and the switches are dropped.
``S W``    ``S1 n+ n- c+ c- model``; ``W1 n+ n- vsource model`` (the source is a link)
``T O U``  ``T1``/``O1 n1 n2 n3 n4 [model]``; ``U1 n1 n2 n3 model``
``V I``    ``V1 n+ n- [value] [dc value] [ac ...] [pulse(...) sin(...) pwl(...) ...]``:
           the main value is a leading bare value, else the ``dc`` value (``dc=`` too)
``E G``    ``E1 o+ o- c+ c- gain`` (HSPICE's ``vcvs``/``vccs`` keyword allowed);
           ``E1 o+ o- value={expr}`` (``vol=`` for E, ``cur=`` for G), ``table {expr} ...``,
           ``laplace {expr} ...``: two nodes and an expression (unknown when it reads node
           voltages); ``E1 o+ o- poly(n) c1+ c1- ... coefficients``: the output nodes and
           every controlling pair (at most 20), no value
``F H``    ``F1 o+ o- vsource gain`` (``cccs``/``ccvs`` allowed); ``F1 o+ o- poly(n) v1 ...
           vn coefficients``: the sources are links, no value
``K``      ``K1 L1 L2 [L3 ...] coupling`` (or ``k=``): the inductors are links (the
           coupling is the last word, a number or a parameter, unless ``k=`` gives it)
``B``      ``B1 n+ n- v=expr`` or ``i=expr`` (the rest of the line is the expression)
``X``      ``X1 n1 ... nk subckt [params:] [p=v ...]``; CDL's ``X1 n1 ... / subckt``
=========  ============================================================================

Other first letters (``A``: XSPICE code models, ``N``: OSDI/Verilog-A devices, ``P``
``Y``: coupled and lossy lines, ...) and statements that start with neither a letter nor
``.`` are errors naming the line.

**Dot cards.**  ``.subckt name ports... [params:] [p=v ...]`` ... ``.ends [name]`` (also
HSPICE's ``.macro``/``.eom``): definitions may nest, their names are global, and a name
defined twice is an error.  ``.model name type ...`` records the type (``nmos``, ``npn``,
``d``, ``sw``, ...), the rest of the card is not read.  ``.param`` (``.params``) at the
top level are the design's parameters, inside a subcircuit its local ones; a user function
``.param f(x)=...`` is skipped (values using it are unknown), as is ``.func``.
``.global`` and CDL's ``*.GLOBAL`` name global nets (a name ending in ``!`` is global
anyway); ``*.PININFO`` records nothing (the ``.subckt`` line lists the ports) and every
other ``*.`` line (``*.BIPOLAR``, ``*.PIN``, ``*.SCALE``, ...) is a comment, its ``+``
lines included.  ``.end`` ends the file that holds it (``.alter`` too: hipool reads the
first variant).  ``.control`` ... ``.endc`` and HSPICE's ``.data`` ... ``.enddata`` are
skipped.  ``.if (cond)`` / ``.elseif (cond)`` / ``.else`` / ``.endif`` are evaluated where
that is safe: outside subcircuit definitions, over numbers and the top-level ``.param``
values defined above, with at most one comparison (``== != < <= > >=``; non-zero is
true); any other condition is an error.  Every other dot card is skipped: ``.title``,
``.option(s)``, ``.temp``, ``.tran .ac .dc .op .noise .tf .pz .sens .disto .four .sp``,
``.print .plot .probe .save .meas(ure)``, ``.ic .nodeset .width .csparam``, ``.func`` and
dot cards hipool does not know.

**Includes.**  ``.include file`` (``.inc``), ``.lib file section`` (read only the section:
``.lib section`` ... ``.endl`` blocks of that file; a file ``.include``-d whole skips its
sections) and PSpice's ``.lib file`` (one argument that is quoted or holds ``.`` or
``/``: the whole file).  The file name may be quoted; it is relative to the including
file's folder (no ``~`` or variables).  A netlist is untrusted input: the included file's
real path (symlinks resolved) must lie inside the main file's folder (absolute paths
too), includes may nest :data:`MAX_INCLUDE_DEPTH` deep and read :data:`MAX_FILES` files
in all; a loop is an error naming the chain; a file that is missing is an error naming
the including line and the path.  A ``.subckt`` or ``.if`` opened in a file must close
in it.

Errors are :class:`~hipool.data.netlists.gates.NetlistError` (``file:line: what is
wrong``): the above, a ``.subckt`` without ``.ends`` or a bad ``.subckt`` line, an
``.ends`` without ``.subckt`` or naming another one, an element with too few tokens, a
``.model`` without a type, a ``.param`` that is not ``name=value``, a ``+`` line with
nothing to continue, a ``.control``, ``.data`` or ``.lib`` section with no end in its file,
text that is not UTF-8 or holds a NUL;
:func:`~hipool.data.netlists.analog.flatten` adds an undefined subcircuit, a recursive
one and a node count that does not fit, each with the element's line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from .analog import AnalogNetlist, Design, flatten
from .gates import decode_netlist_text, no_cyclic_gc, read_netlist_bytes
from .spice_reader import _WHAT, _Reader

#: Most files one netlist may read, itself and its includes together.
MAX_FILES = 1000
#: Deepest nesting of includes.
MAX_INCLUDE_DEPTH = 50


def parse_spice_text(
    text: str,
    source: Path,
    design: Design,
    *,
    root: Path,
    title: bool = False,
    first_line: int = 1,
    files: int = 0,
) -> int:
    """Read the SPICE statements of ``text`` into ``design`` (see the module docstring).

    Args:
        text: the statements; its line 1 is line ``first_line`` of ``source``.
        source: the file they come from (for messages, and the folder includes are relative to).
        design: the design to add elements, subcircuits, models, parameters and globals to;
            names are folded to lower case when its dialect is ``"spice"`` (parameter names
            of elements always).
        root: the folder every included file must lie in.
        title: whether the first line is a title (skipped, see the module docstring).
        first_line: the line of ``source`` that ``text`` starts at.

    A ``.subckt`` (or ``.if``) opened in ``text`` must close in it.  A lone name in the
    value's place of an ``R``/``C``/``L`` is a model if ``design`` knows a ``.model`` of that
    name when ``text`` ends (else it is the value).  Raises
    :class:`~hipool.data.netlists.gates.NetlistError` (``file:line: what is wrong``).
    """
    source = Path(source)
    reader = _Reader(design, Path(os.path.realpath(root)), MAX_FILES, MAX_INCLUDE_DEPTH)
    reader.files = files - 1 if files else 0  # read_text counts the text itself
    chain = [(Path(os.path.realpath(source)), None, str(source))]
    with no_cyclic_gc():
        reader.read_text(text, str(source), source.parent, chain, title, first_line)
        reader.finish()
    return reader.files


def parse_spice(path: Union[str, Path]) -> Design:
    """The :class:`~hipool.data.netlists.analog.Design` of a SPICE/ngspice/CDL file and its
    includes (see the module docstring); named after the file's stem."""
    path = Path(path)
    text = decode_netlist_text(read_netlist_bytes(path, _WHAT), str(path), _WHAT)
    design = Design(name=path.stem, source=str(path), dialect="spice")
    parse_spice_text(text, path, design, root=path.parent, title=True)
    return design


def read_spice(path: Union[str, Path]) -> AnalogNetlist:
    """The flattened :class:`~hipool.data.netlists.analog.AnalogNetlist` of a SPICE file."""
    return flatten(parse_spice(path))


__all__ = ["MAX_FILES", "MAX_INCLUDE_DEPTH", "parse_spice", "parse_spice_text", "read_spice"]
