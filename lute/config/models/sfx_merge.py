"""Merging for serial crystallography: CrystFEL's ``partialator``, ``compare_hkl`` and ``get_hkl``.

LUTE's ``MergePartialator``, ``CompareHKL`` and ``ManipulateHKL``, with
LUTE's parameter names, defaults and command-line forms; the CrystFEL
manuals (https://www.desy.de/~twhite/crystfel/) describe the options. Each
finds its inputs in the run database when not given: the merger the
concatenated stream, the comparer and manipulator the merger's reflections.
"""

from __future__ import annotations

__all__ = [
    "CompareHKLParameters",
    "ManipulateHKLParameters",
    "MergePartialatorParameters",
]


from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from lute.config.models.base import ThirdPartyParameters
from lute.config.models.sfx_common import (
    default_threads,
    latest,
    long,
    positional,
    short,
    without_extension,
)


class MergePartialatorParameters(ThirdPartyParameters):
    """Merge a stream with CrystFEL's ``partialator``; the reflections file is the result.

    ``partialator`` also writes the two half-sets, ``<out_file>1`` and
    ``<out_file>2``, which ``CompareHKL`` compares.
    """

    long_flags_use_eq: ClassVar[bool] = True
    impl_schemas: ClassVar[str | None] = "crystfel.hkl"

    executable: str = Field("partialator", description="CrystFEL's merging program.")
    in_file: str | None = short(
        "i", "", "Stream to merge; default: the latest joined stream.", validate=True
    )
    out_file: str = short(
        "o", "", "Reflections to write; default: the stream's name, .hkl.", validate=True,
        is_result=True,
    )  # fmt: skip
    symmetry: str = long("symmetry", ..., "Point group symmetry.")
    niter: int | None = short("n", None, "Cycles of scaling and post-refinement.")
    no_scale: bool | None = long("no-scale", None, "Disable scaling.")
    no_Bscale: bool | None = long("no-Bscale", None, "Disable the Debye-Waller part of scaling.")
    no_pr: bool | None = long("no-pr", None, "Disable the orientation model.")
    no_deltacchalf: bool | None = long("no-deltacchalf", None, "Keep low deltaCC1/2 crystals.")
    model: str = long("model", "unity", "Partiality model: xsphere, unity, offset, ggpm.")
    nthreads: int = Field(
        default_factory=default_threads,
        description="Parallel analyses: the job's cores less one.",
        json_schema_extra={"flag_type": "-", "rename_param": "j"},
    )
    polarisation: str | None = long("polarisation", None, "Incident polarisation.")
    no_polarisation: bool | None = long("no-polarisation", None, "As --polarisation=none.")
    max_adu: float | None = long("max-adu", None, "Brightest reflection included.")
    min_res: float | None = long("min-res", None, "Crystals must diffract to this resolution.")
    min_measurements: int = long("min-measurements", 2, "Fewest measurements of a reflection.")
    push_res: float | None = long("push-res", None, "Merge beyond the apparent resolution.")
    start_after: int = long("start-after", 0, "Skip the first N crystals.")
    stop_after: int = long("stop-after", 0, "Stop after N crystals (0: all).")
    no_free: bool | None = long("no-free", None, "Disable cross-validation (testing only).")
    custom_split: str | None = long("custom-split", None, "File naming the half-sets.")
    max_rel_B: float = long("max-rel-B", 100, "Reject crystals with |relB| above this.")
    output_every_cycle: bool = long("output-every-cycle", False, "Write every cycle.")
    no_logs: bool = long("no-logs", False, "Write no logs for plots.")
    set_symmetry: str | None = short("w", None, "Apparent symmetry of the crystals.")
    operator: str | None = long("operator", None, "Ambiguity operator, e.g. k,h,-l.")
    force_bandwidth: float | None = long("force-bandwidth", None, "X-ray bandwidth (fraction).")
    force_radius: float | None = long("force-radius", None, "Initial profile radius (nm-1).")
    force_lambda: float | None = long("force-lambda", None, "Wavelength (A).")
    harvest_file: str | None = long("harvest-file", None, "Write the parameters here (JSON).")

    @field_validator("in_file")
    @classmethod
    def _joined_stream(cls, in_file: str | None, info: ValidationInfo) -> str | None:
        if in_file == "":
            found = latest(info, "ConcatenateStreamFiles", "out_file")
            if found:
                return str(found)
        return in_file

    @field_validator("out_file")
    @classmethod
    def _hkl_next_to_the_stream(cls, out_file: str, info: ValidationInfo) -> str:
        if out_file != "":
            return out_file
        in_file = info.data.get("in_file")
        return f"{without_extension(in_file)}.hkl" if in_file else "partialator.hkl"


class CompareHKLParameters(ThirdPartyParameters):
    """Figures of merit of a merge with CrystFEL's ``compare_hkl``; the shell file is the result."""

    long_flags_use_eq: ClassVar[bool] = True
    impl_schemas: ClassVar[str | None] = "crystfel.shells"

    executable: str = Field("compare_hkl", description="CrystFEL's reflection comparer.")
    in_files: str | None = positional(
        "", "The two half-sets, space separated; default: the latest merge's.",
        validate=True, split=True,
    )  # fmt: skip
    symmetry: str = long("symmetry", "", "Point group; default: the latest merge's.", validate=True)
    cell_file: str = short(
        "p", "", "Unit cell file; default: the latest indexing's.", validate=True
    )
    fom: str = long("fom", "Rsplit", "Figure of merit.")
    nshells: int = long("nshells", 10, "Resolution shells.")
    shell_file: str = long(
        "shell-file", "", "Statistics per shell; default: next to the merge.", validate=True,
        is_result=True,
    )  # fmt: skip
    ignore_negs: bool = long("ignore-negs", False, "Ignore negative intensities.")
    zero_negs: bool = long("zero-negs", False, "Set negative intensities to 0.")
    sigma_cutoff: float | int | str | None = long(
        "sigma-cutoff", None, "Discard reflections with I/sigma(I) below this."
    )
    rmin: float | None = long("rmin", None, "Low resolution cutoff (1/d, m-1).")
    lowres: float | None = long("lowres", None, "Low resolution cutoff (A).")
    rmax: float | None = long("rmax", None, "High resolution cutoff (1/d, m-1).")
    highres: float | None = long("highres", None, "High resolution cutoff (A).")

    @field_validator("in_files")
    @classmethod
    def _half_sets(cls, in_files: str | None, info: ValidationInfo) -> str | None:
        if in_files == "":
            merged = latest(info, "MergePartialator", "out_file")
            if merged:
                return f"{merged}1 {merged}2"
        return in_files

    @field_validator("symmetry")
    @classmethod
    def _merge_symmetry(cls, symmetry: str, info: ValidationInfo) -> str:
        if symmetry == "":
            return str(latest(info, "MergePartialator", "symmetry") or "")
        return symmetry

    @field_validator("cell_file")
    @classmethod
    def _indexing_cell(cls, cell_file: str, info: ValidationInfo) -> str:
        if cell_file == "":
            return str(latest(info, "IndexCrystFEL", "cell_file", valid_only=False) or "")
        return cell_file

    @field_validator("shell_file")
    @classmethod
    def _shells_next_to_the_merge(cls, shell_file: str, info: ValidationInfo) -> str:
        if shell_file == "":
            merged = latest(info, "MergePartialator", "out_file")
            if merged and "fom" in info.data and "nshells" in info.data:
                return f"{without_extension(merged)}_{info.data['fom']}_n{info.data['nshells']}.dat"
        return shell_file


class ManipulateHKLParameters(ThirdPartyParameters):
    """Convert merged reflections with CrystFEL's ``get_hkl`` (to MTZ by default)."""

    long_flags_use_eq: ClassVar[bool] = True
    impl_schemas: ClassVar[str | None] = "crystfel.get_hkl"

    executable: str = Field("get_hkl", description="CrystFEL's reflection converter.")
    in_file: str = short("i", "", "Reflections; default: the latest merge's.", validate=True)
    out_file: str = short(
        "o", "", "Output; default: the merge's name, .mtz.", validate=True, is_result=True
    )
    cell_file: str = short(
        "p", "", "Unit cell file; default: the latest indexing's.", validate=True
    )
    output_format: str = long("output-format", "mtz", "mtz, mtz-bij, xds, or CrystFEL's.")
    expand: str | None = long("expand", None, "Expand to this point group.")
    twin: str | None = long("twin", None, "Sum twin-equivalent intensities for this point group.")
    no_need_all_parts: bool | None = long(
        "no-need-all-parts", None, "With --twin: keep reflections missing a mate."
    )
    noise: bool | None = long("noise", None, "Add 10% uniform noise.")
    poisson: bool | None = long("poisson", None, "Add Poisson noise.")
    adu_per_photon: int | None = long("adu-per-photon", None, "With --poisson: ADU per photon.")
    trim_centrics: bool | None = long("trim-centrics", None, "Remove duplicated centrics.")
    template: str | None = long("template", None, "Keep only reflections in this file.")
    multiplicity: bool | None = long("multiplicity", None, "Multiply by multiplicities.")
    cutoff_angstroms: str | int | float | None = long(
        "cutoff-angstroms", None, "n, or n1,n2,n3: resolution cutoffs."
    )
    lowres: float | None = long("lowres", None, "Remove reflections with d above this.")
    highres: float | None = long("highres", None, "As the first form of --cutoff-angstroms.")
    reindex: str | None = long("reindex", None, "Reindex with this operator.")
    symmetry: str | None = long("symmetry", None, "Override the input symmetry (rarely).")

    @field_validator("in_file")
    @classmethod
    def _merged(cls, in_file: str, info: ValidationInfo) -> str:
        if in_file == "":
            return str(latest(info, "MergePartialator", "out_file") or "")
        return in_file

    @field_validator("out_file")
    @classmethod
    def _mtz_next_to_the_merge(cls, out_file: str, info: ValidationInfo) -> str:
        if out_file == "":
            merged = latest(info, "MergePartialator", "out_file")
            if merged:
                return f"{without_extension(merged)}.mtz"
        return out_file

    @field_validator("cell_file")
    @classmethod
    def _indexing_cell(cls, cell_file: str, info: ValidationInfo) -> str:
        if cell_file == "":
            return str(latest(info, "IndexCrystFEL", "cell_file", valid_only=False) or "")
        return cell_file
