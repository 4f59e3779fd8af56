"""Indexing for serial crystallography: CrystFEL's ``indexamajig``, and joining its streams.

LUTE's ``IndexCrystFEL`` and ``ConcatenateStreamFiles``, with LUTE's
parameter names, defaults and command-line forms. See the CrystFEL manual
(https://www.desy.de/~twhite/crystfel/manual-indexamajig.html) for what
each option does.
"""

from __future__ import annotations

__all__ = [
    "ConcatenateStreamFilesParameters",
    "IndexCrystFELParameters",
]


from pathlib import Path
from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from lute.config.models.base import TaskParameters, ThirdPartyParameters
from lute.config.models.sfx_common import default_threads, latest, long, short


class IndexCrystFELParameters(ThirdPartyParameters):
    """Index peaks with CrystFEL's ``indexamajig``; the stream file is the result.

    Without ``in_file``, the peak list of the latest ``FindPeaksPyAlgos`` run
    (or ``FindPeaksPsocake``'s ``.lst``) is used; without ``out_file``, the
    stream is ``<work_dir>/<experiment>_r<run:04d>[_<tag>].stream``.
    """

    long_flags_use_eq: ClassVar[bool] = True
    impl_schemas: ClassVar[str | None] = "crystfel.stream"

    executable: str = Field("indexamajig", description="CrystFEL's indexing program.")
    in_file: str | None = short("i", "", "File listing the input files.", validate=True)
    out_file: str = short("o", "", "Stream file to write.", validate=True, is_result=True)
    peaks: str | None = long("peaks", None, "Peak finding method, or a file type (cxi).")
    geometry: str = short("g", "", "Geometry file.")
    zmq_input: str | None = long("zmq-input", None, "ZMQ address to receive data from.")
    zmq_subscribe: str | None = long("zmq-subscribe", None, "ZMQ message type to subscribe to.")
    zmq_request: str | None = long("zmq-request", None, "Request data over ZMQ with this.")
    asapo_endpoint: str | None = long("asapo-endpoint", None, "ASAP::O endpoint.")
    asapo_token: str | None = long("asapo-token", None, "ASAP::O authentication token.")
    asapo_beamtime: str | None = long("asapo-beamtime", None, "ASAP::O beamtime.")
    asapo_source: str | None = long("asapo-source", None, "ASAP::O data source.")
    asapo_group: str | None = long("asapo-group", None, "ASAP::O consumer group.")
    asapo_stream: str | None = long("asapo-stream", None, "ASAP::O stream.")
    asapo_wait_for_stream: str | None = long(
        "asapo-wait-for-stream", None, "Wait for the ASAP::O stream to appear."
    )
    data_format: str | None = long("data-format", None, "ZMQ/ASAP::O format: msgpack, hdf5...")
    basename: bool = long("basename", False, "Strip directories from the input file names.")
    prefix: str | None = long("prefix", None, "Prefix for the input file names.")
    nthreads: int = Field(
        default_factory=default_threads,
        gt=0,
        description="Threads: the job's cores less one.",
        json_schema_extra={"flag_type": "-", "rename_param": "j"},
    )
    no_check_prefix: bool = long("no-check-prefix", False, "Do not correct the prefix.")
    highres: float | None = long("highres", None, "Mark pixels beyond this resolution bad.")
    profile: bool = long("profile", False, "Show timing data.")
    temp_dir: str | None = long("temp-dir", None, "Directory for temporary files.")
    wait_for_file: int = long("wait-for-file", 0, "Seconds to wait for a file (-1: forever).")
    no_image_data: bool = long("no-image-data", False, "Load the metadata only.")
    indexing: str | None = long("indexing", None, "Indexing methods, comma separated.")
    cell_file: str | None = short("p", None, "Unit cell file (PDB or CrystFEL format).")
    tolerance: str = long("tolerance", "5,5,5,1.5", "Cell tolerances a,b,c,angle (percent).")
    no_check_cell: bool = long("no-check-cell", False, "Do not check the cell.")
    no_check_peaks: bool = long("no-check-peaks", False, "Do not check peaks against lattices.")
    multi: bool = long("multi", False, "Multi-lattice indexing.")
    wavelength_estimate: float | None = long("wavelength-estimate", None, "Wavelength estimate.")
    camera_length_estimate: float | None = long(
        "camera-length-estimate", None, "Camera length estimate."
    )
    max_indexer_threads: int | None = long(
        "max-indexer-threads", None, "Threads of indexers that have them."
    )
    no_retry: bool = long("no-retry", False, "Do not retry without weak peaks.")
    no_refine: bool = long("no-refine", False, "Skip refinement.")
    no_revalidate: bool = long("no-revalidate", False, "Skip revalidation.")
    taketwo_member_threshold: int | None = long(
        "taketwo-member-threshold", None, "TakeTwo: fewest vectors."
    )
    taketwo_len_tolerance: float | None = long(
        "taketwo-len-tolerance", None, "TakeTwo: length tolerance (A)."
    )
    taketwo_angle_tolerance: float | None = long(
        "taketwo-angle-tolerance", None, "TakeTwo: angle tolerance (degrees)."
    )
    taketwo_trace_tolerance: float | None = long(
        "taketwo-trace-tolerance", None, "TakeTwo: trace tolerance (degrees)."
    )
    xgandalf_sampling_pitch: int | None = long(
        "xgandalf-sampling-pitch", None, "XGANDALF: sampling density."
    )
    xgandalf_grad_desc_iterations: int | None = long(
        "xgandalf-grad-desc-iterations", None, "XGANDALF: gradient descent iterations."
    )
    xgandalf_tolerance: float | None = long("xgandalf-tolerance", None, "XGANDALF: tolerance.")
    xgandalf_no_deviation_from_provided_cell: bool | None = long(
        "xgandalf-no-deviation-from-provided-cell", None, "XGANDALF: the given cell only."
    )
    xgandalf_min_lattice_vector_length: float | None = long(
        "xgandalf-min-lattice-vector-length", None, "XGANDALF: shortest lattice vector."
    )
    xgandalf_max_lattice_vector_length: float | None = long(
        "xgandalf-max-lattice-vector-length", None, "XGANDALF: longest lattice vector."
    )
    xgandalf_max_peaks: int | None = long("xgandalf-max-peaks", None, "XGANDALF: most peaks.")
    xgandalf_fast_execution: bool = long("xgandalf-fast-execution", False, "XGANDALF: fast mode.")
    integration: str = long("integration", "rings-nocen", "Integration method.")
    fix_profile_radius: float | None = long("fix-profile-radius", None, "Fixed profile radius.")
    fix_divergence: float | None = long("fix-divergence", 0, "Fixed divergence (rad).")
    int_radius: str = long("int-radius", "4,5,7", "Integration radii.")
    int_diag: str = long("int-diag", "none", "When to show integration details.")
    push_res: str = long("push-res", "infinity", "Integrate beyond the resolution limit.")
    overpredict: bool = long("overpredict", False, "Over-predict reflections.")
    cell_parameters_only: bool = long("cell-parameters-only", False, "Predict no reflections.")
    no_non_hits_in_stream: bool = long("no-non-hits-in-stream", False, "Leave non-hits out.")
    copy_hheader: str | None = long("copy-header", None, "Image header to copy to the stream.")
    no_peaks_in_stream: bool = long("no-peaks-in-stream", False, "Leave peaks out.")
    no_refls_in_stream: bool = long("no-refls-in-stream", False, "Leave reflections out.")
    serial_offset: int | None = long("serial-offset", None, "First serial number.")
    harvest_file: str | None = long("harvest-file", None, "Write the parameters here (JSON).")

    @field_validator("in_file")
    @classmethod
    def _peaks_from_the_database(cls, in_file: str | None, info: ValidationInfo) -> str | None:
        if in_file != "":
            return in_file
        found = latest(info, "FindPeaksPyAlgos", "out_file")
        if found is not None:
            return str(found)
        out_dir = latest(info, "FindPeaksPsocake", "outDir")
        if out_dir is None:
            return in_file
        header = info.data["lute_config"]
        tag = latest(info, "FindPeaksPsocake", "tag")
        stem = f"{out_dir}/{header.experiment}_{int(header.run):04d}"
        return f"{stem}_{tag}.lst" if tag else f"{stem}.lst"

    @field_validator("out_file")
    @classmethod
    def _stream_in_the_work_dir(cls, out_file: str, info: ValidationInfo) -> str:
        header = info.data.get("lute_config")
        if out_file != "" or header is None:
            return out_file
        try:
            run = int(header.run)
        except ValueError:
            raise ValueError(
                f"no out_file given, and the header's run {header.run!r} is not a number"
                " to name one after"
            ) from None
        tag = latest(info, "FindPeaksPyAlgos", "tag") or latest(info, "FindPeaksPsocake", "tag")
        name = f"{header.experiment}_r{run:04d}" + (f"_{tag}" if tag else "")
        return f"{header.work_dir}/{name}.stream"


class ConcatenateStreamFilesParameters(TaskParameters):
    """Join the stream files of a directory tree into one (``StreamFileConcatenator``).

    Defaults follow the latest ``IndexCrystFEL`` stream: its directory, its
    tag (the part of its name after the last ``_``), and an output named
    ``<tag>.stream`` in the directory above, as in LUTE.
    """

    impl_schemas: ClassVar[str | None] = "crystfel.stream"

    in_file: str = Field(
        "", description="Root of the tree holding the streams.", validate_default=True
    )
    tag: str | None = Field(
        "", description="Streams named *<tag>*.stream are joined.", validate_default=True
    )
    out_file: str = Field(
        "",
        description="The joined stream.",
        validate_default=True,
        json_schema_extra={"is_result": True},
    )

    @field_validator("in_file")
    @classmethod
    def _indexer_directory(cls, in_file: str, info: ValidationInfo) -> str:
        if in_file == "":
            stream = latest(info, "IndexCrystFEL", "out_file")
            if stream:
                return str(Path(stream).parent)
        return in_file

    @field_validator("tag")
    @classmethod
    def _indexer_tag(cls, tag: str | None, info: ValidationInfo) -> str | None:
        if tag == "":
            stream = latest(info, "IndexCrystFEL", "out_file")
            if stream:
                return Path(stream).name.split("_")[-1].split(".")[0]
        return tag

    @field_validator("out_file")
    @classmethod
    def _next_to_the_tree(cls, out_file: str, info: ValidationInfo) -> str:
        in_file, tag = info.data.get("in_file"), info.data.get("tag")
        if out_file == "" and in_file:
            return str(Path(in_file).parent / f"{tag}.stream")
        return out_file
