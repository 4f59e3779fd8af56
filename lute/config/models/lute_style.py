"""LUTE's pydantic-1 model habits, read by lute's (pydantic 2) parameter models.

LUTE's models configure themselves with an inner class,
``class Config(TaskParameters.Config)``, holding both pydantic options
(``extra = "allow"``) and LUTE's own (``set_result``, ``result_from_params``,
``impl_schemas``, ``run_directory``, ``short_flags_use_eq``,
``long_flags_use_eq``). pydantic 2 refuses an inner ``Config`` on a model
that also has ``model_config``, as lute's base classes do, so the metaclass
here takes the inner class out of the class body before pydantic sees it:

* pydantic options whose meaning did not change become ``model_config``;
  pydantic-1-only ones (``env_prefix``, ``underscore_attrs_are_private``,
  ``copy_on_model_validation``) are dropped, lute having its own
  ``LUTE_<param>`` overrides and copies;
* LUTE's options become what lute reads: the class variables
  ``impl_schemas``, ``short_flags_use_eq`` and ``long_flags_use_eq``;
  ``set_result`` and ``result_from_params`` are read from ``Config`` when
  the result is asked for (a LUTE validator sets
  ``cls.Config.result_from_params``), and ``run_directory`` when the Task
  starts;
* the inner class is put back as the attribute ``Config``, so code that
  reads ``params.Config.set_result`` keeps working.

A model that declares ``Config`` also gets pydantic 1's reading of an
``Optional`` field without a default: it defaults to ``None`` (pydantic 2
would make it required).
"""

from __future__ import annotations

import types
import typing
import warnings
from typing import Any

from pydantic import BaseModel

ModelMetaclass = type(BaseModel)

PYDANTIC_OPTIONS = frozenset(
    {
        "extra",
        "allow_inf_nan",
        "frozen",
        "arbitrary_types_allowed",
        "validate_assignment",
        "use_enum_values",
        "populate_by_name",
    }
)
"""Inner-``Config`` options that mean the same to pydantic 2; passed on."""

DROPPED_OPTIONS = frozenset(
    {"env_prefix", "underscore_attrs_are_private", "copy_on_model_validation"}
)
"""pydantic-1-only options lute does not need (it has its own overrides and copies)."""

CLASS_OPTIONS = ("impl_schemas", "short_flags_use_eq", "long_flags_use_eq")
"""LUTE options that become the lute class variables of the same name."""


class LuteConfig:
    """LUTE's ``TaskParameters.Config``: the base of a LUTE model's inner ``Config``.

    Attributes:
        run_directory: Directory the Task runs in, if not the current one.
        set_result: Whether the parameters say what the result is.
        result_from_params: The result, set by a validator.
        result_summary: Kept for LUTE code that sets it; lute does not read it.
        impl_schemas: Schemas the result follows.
        short_flags_use_eq: ``-n=value`` instead of ``-n value``.
        long_flags_use_eq: ``--name=value`` instead of ``--name value``.
    """

    run_directory: str | None = None
    set_result: bool = False
    result_from_params: Any = None
    result_summary: Any = None
    impl_schemas: str | None = None
    short_flags_use_eq: bool = False
    long_flags_use_eq: bool = False


class ThirdPartyLuteConfig(LuteConfig):
    """LUTE's ``ThirdPartyParameters.Config``: extra keys allowed, result from parameters."""

    extra = "allow"
    set_result = True


class ParametersMetaclass(ModelMetaclass):  # type: ignore[misc, valid-type]
    """pydantic's model metaclass, taking a LUTE-style inner ``Config`` out of the class body."""

    def __new__(
        mcs, cls_name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> type:
        """Create the model; translate an inner ``Config`` as the module docstring says.

        An option lute does not know is ignored with a warning naming it.

        Raises:
            TypeError: The class has both an inner ``Config`` and ``model_config``.
        """
        config = namespace.get("Config")
        if not isinstance(config, type):
            return super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        namespace = {key: value for key, value in namespace.items() if key != "Config"}
        options = _pydantic_options(cls_name, config)
        if options:
            if "model_config" in namespace:
                raise TypeError(f"{cls_name}: give an inner class Config or model_config, not both")
            namespace["model_config"] = options
        cls = super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        type.__setattr__(cls, "Config", config)
        type.__setattr__(cls, "declares_lute_config", True)
        for option in CLASS_OPTIONS:
            if hasattr(config, option):
                type.__setattr__(cls, option, getattr(config, option))
        _optional_fields_default_to_none(cls)
        return cls


def _pydantic_options(cls_name: str, config: type) -> dict[str, Any]:
    """The pydantic options an inner ``Config`` (and the classes it derives from) sets."""
    options: dict[str, Any] = {}
    known = set(vars(LuteConfig)) | set(vars(ThirdPartyLuteConfig))
    for klass in reversed(config.__mro__):
        for name, value in vars(klass).items():
            if name.startswith("_") or name in DROPPED_OPTIONS:
                continue
            if name in PYDANTIC_OPTIONS:
                options[name] = value
            elif name not in known:
                warnings.warn(
                    f"{cls_name}.Config.{name} is not an option lute reads; it is ignored",
                    UserWarning,
                    stacklevel=3,
                )
    return options


def _optional_fields_default_to_none(cls: Any) -> None:
    """Give every required field that accepts ``None`` the default ``None``, as pydantic 1 did."""
    changed = False
    for info in cls.model_fields.values():
        if info.is_required() and _accepts_none(info.annotation):
            info.default = None
            changed = True
    if changed:
        cls.model_rebuild(force=True)


def _accepts_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(annotation)
    return False
