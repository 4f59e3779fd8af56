"""Render third-party config files from jinja2 templates.

Templates are looked up, in order, in the directory a model names
(``lute_template_cfg.template_dir``), in each directory of
``$LUTE_TEMPLATE_DIR`` (``:``-separated), and in lute's own
``config/templates/``. Rendering is strict: a variable the template uses but
the parameters do not define is an error, because a silently empty value in
an indexer's config costs a whole run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lute.core.exceptions import ConfigurationError
from lute.core.files import write_atomically

logger = logging.getLogger(__name__)

ENV_TEMPLATE_DIR = "LUTE_TEMPLATE_DIR"
ENV_LUTE_PATH = "LUTE_PATH"


def builtin_template_dir() -> Path:
    """The ``config/templates/`` shipped with lute (under ``$LUTE_PATH`` if set)."""
    root = os.environ.get(ENV_LUTE_PATH) or Path(__file__).resolve().parents[2]
    return Path(root) / "config" / "templates"


def search_path(template_dir: str | None = None) -> list[str]:
    """The directories searched for a template, first match wins."""
    dirs = [template_dir] if template_dir else []
    dirs += [d for d in os.environ.get(ENV_TEMPLATE_DIR, "").split(os.pathsep) if d]
    dirs.append(str(builtin_template_dir()))
    return dirs


def render_template(
    template_name: str,
    output_path: str | os.PathLike[str],
    context: Mapping[str, Any],
    template_dir: str | None = None,
) -> Path:
    """Render ``template_name`` with ``context`` and write it to ``output_path``.

    The file is written to a temporary name and renamed, so a program never
    reads a half-written config.

    Raises:
        ConfigurationError: The template is missing, has a syntax error or
            uses an undefined variable; the message names the template.
    """
    import jinja2  # noqa: PLC0415 (slow to import; a Task without a template never needs it)

    dirs = search_path(template_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    try:
        template = env.get_template(template_name)
        text = template.render(**context)
    except jinja2.TemplateNotFound as err:
        raise ConfigurationError(
            f"template {template_name!r} not found in: {', '.join(dirs)}"
        ) from err
    except jinja2.UndefinedError as err:
        raise ConfigurationError(
            f"template {template_name!r}: {err.message}; define it in the Task's parameters"
        ) from err
    except jinja2.TemplateSyntaxError as err:
        raise ConfigurationError(
            f"template {err.filename or template_name}:{err.lineno}: {err.message}"
        ) from err
    out = write_atomically(output_path, text)
    logger.info("rendered template %s to %s", template.filename, out)
    return out
