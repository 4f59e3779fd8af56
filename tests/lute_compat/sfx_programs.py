"""Stand-ins for CrystFEL's and CCP4's programs, for running the SFX chain anywhere.

One script, installed under each program's name in a directory the test
puts first on ``PATH``. It records how it was called (arguments, working
directory, standard input for ``shelxc``) in ``$SFX_RECORD_DIR/<name>.json``,
checks that its input exists, and writes the output files the next Task of
the chain reads, where the real program would.
"""

from __future__ import annotations

from pathlib import Path

from programs import write_program

PROGRAMS = ("indexamajig", "partialator", "compare_hkl", "get_hkl", "dimple", "shelxc")

STAND_IN = r"""
import json, os, sys
from pathlib import Path

name = Path(sys.argv[0]).name
args = sys.argv[1:]
record = {"argv": args, "cwd": os.getcwd()}
if name == "shelxc":
    record["stdin"] = sys.stdin.read()


def value(flag):
    for index, arg in enumerate(args):
        if arg == flag:
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    raise SystemExit(f"{name}: no {flag}")


def needs(path):
    if not Path(path).is_file():
        raise SystemExit(f"{name}: input {path} does not exist")


if name == "indexamajig":
    needs(value("-i"))
    Path(value("-o")).write_text("CrystFEL stream format 2.3\n----- Begin chunk -----\n")
elif name == "partialator":
    needs(value("-i"))
    out = value("-o")
    for suffix in ("", "1", "2"):
        Path(out + suffix).write_text(f"reflections {suffix}\n")
elif name == "compare_hkl":
    for half in args[:2]:
        needs(half)
    Path(value("--shell-file")).write_text("1/d centre  Rsplit/%\n")
elif name == "get_hkl":
    needs(value("-i"))
    Path(value("-o")).write_text("MTZ stand-in\n")
elif name == "dimple":
    mtz, pdb, out_dir = args[:3]
    needs(mtz)
    for output in ("final.mtz", "final.pdb"):
        Path(out_dir, output).write_text(f"{output} from {mtz} and {pdb}\n")
with open(Path(os.environ["SFX_RECORD_DIR"]) / f"{name}.json", "w") as out:
    json.dump(record, out)
"""


def install_stand_ins(bin_dir: Path) -> Path:
    """Write the stand-in under every program's name into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in PROGRAMS:
        write_program(bin_dir / name, STAND_IN)
    return bin_dir
