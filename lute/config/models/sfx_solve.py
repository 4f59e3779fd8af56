"""Structure solution for serial crystallography: CCP4's ``dimple`` and ``shelxc``.

LUTE's ``DimpleSolve`` (molecular replacement, https://ccp4.github.io/dimple/)
and ``RunSHELXC`` (input files for SHELXD/SHELXE), with LUTE's parameter
names, defaults and command-line forms. Both read ``ManipulateHKL``'s
output from the run database when not told otherwise.
"""

from __future__ import annotations

__all__ = [
    "DimpleSolveParameters",
    "RunSHELXCParameters",
]


import os
from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from lute.config.models.base import ThirdPartyParameters
from lute.config.models.sfx_common import latest, long, positional, short


class DimpleSolveParameters(ThirdPartyParameters):
    """Solve a structure by molecular replacement with ``dimple IN.mtz MODEL.pdb OUT_DIR``.

    The result is ``<out_dir>/final.mtz;<out_dir>/final.pdb``, as in LUTE.
    """

    impl_schemas: ClassVar[str | None] = "ccp4.dimple"

    executable: str = Field("dimple", description="CCP4's dimple.")
    in_file: str = positional("", "Input MTZ; default: the latest get_hkl output.", validate=True)
    pdb: str = positional("", "The model (PDB).")
    out_dir: str = positional("", "Output directory; default: the MTZ's.", validate=True)
    mr_thresh: float = long("mr-when-r", 0.4, "Run molecular replacement above this R.", gt=0)
    slow: bool | None = long("slow", False, "More refinement.")
    hklout: str = long("hklout", "final.mtz", "Output MTZ name.")
    xyzout: str = long("xyzout", "final.pdb", "Output PDB name.")
    icolumn: str | None = long("icolumn", None, "I column name.")
    sigicolumn: str | None = long("sigicolumn", None, "SIG<I> column name.")
    fcolumn: str | None = long("fcolumn", None, "F column name.")
    sigfcolumn: str | None = long("sigfcolumn", None, "SIG<F> column name.")
    libin: str | None = long("libin", None, "Ligand descriptions for refmac (LIBIN).")
    refmac_key: str | None = long("refmac-key", None, "Extra refmac keywords.")
    free_r_flags: str | None = long("free-r-flags", None, "MTZ file with free-R flags.")
    freecolumn: int | float | None = long("freecolumn", None, "Free-R column, optional value.")
    img_format: str | None = short("f", None, "Image format: png, jpeg, none.")
    white_bg: bool = long("white-bg", False, "White background in Coot and images.")
    no_cleanup: bool = long("no-cleanup", False, "Keep intermediate files.")
    no_blob_search: bool = long("no-blob-search", False, "Do not search for blobs.")
    anode: bool = long("anode", False, "Find anomalous peaks with SHELX/AnoDe.")
    no_hetatm: bool = long("no-hetatm", False, "Remove heteroatoms from the model.")
    rigid_cycles: int | None = long("rigid-cycles", None, "Rigid-body refinement cycles.", gt=0)
    jelly: int | None = long("jelly", None, "Jelly-body refinement cycles.", gt=0)
    restr_cycles: int | None = long("restr-cycles", None, "Final refmac cycles.", gt=0)
    lim_resolution: float | None = long("reso", None, "Limit the final resolution.", gt=0)
    weight: str | None = long("weight", None, "refmac matrix weight.")
    mr_prog: str | None = long("mr-prog", None, "Molecular replacement: phaser or molrep.")
    mr_num: str | int | None = long("mr-num", None, "Molecules for molecular replacement.")
    mr_reso: float | None = long("mr-reso", None, "Molecular replacement resolution.", gt=0)
    itof_prog: str | None = long("ItoF-prog", None, "Amplitudes by truncate or ctruncate.")

    @field_validator("in_file")
    @classmethod
    def _converted_reflections(cls, in_file: str, info: ValidationInfo) -> str:
        if in_file == "":
            return str(latest(info, "ManipulateHKL", "out_file") or "")
        return in_file

    @field_validator("out_dir")
    @classmethod
    def _next_to_the_reflections(cls, out_dir: str, info: ValidationInfo) -> str:
        if out_dir == "":
            converted = latest(info, "ManipulateHKL", "out_file")
            if converted:
                return os.path.dirname(converted)
        return out_dir

    @model_validator(mode="after")
    def _final_files(self) -> DimpleSolveParameters:
        if self.out_dir:
            self._result_from_params = f"{self.out_dir}/final.mtz;{self.out_dir}/final.pdb"
        return self


class RunSHELXCParameters(ThirdPartyParameters):
    """Prepare SHELXD/SHELXE input with CCP4's ``shelxc xx < IN``.

    ``in_file`` (default: the latest ``ManipulateHKL`` output, which should
    be in XDS format) is the program's standard input. LUTE passes
    ``<IN`` as an argument, which no shell reads; lute opens the file.
    """

    impl_schemas: ClassVar[str | None] = "shelx.c"

    executable: str = Field("shelxc", description="CCP4's SHELXC.")
    placeholder: str = positional("xx", "Stem of the files written.")
    in_file: str = Field(
        "",
        description="Reflections with their records, read on standard input.",
        validate_default=True,
        json_schema_extra={"stdin": True},
    )

    @field_validator("in_file")
    @classmethod
    def _converted_reflections(cls, in_file: str, info: ValidationInfo) -> str:
        if in_file == "":
            return str(latest(info, "ManipulateHKL", "out_file") or "")
        return in_file
