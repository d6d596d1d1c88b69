"""Post-processing scripts run on fused results (Vidjil ``fuse.py --post``; e.g. spike-in normalisation).

Scripts are files an operator installed in the scripts folder (``REPSEQ_FUSE_SCRIPTS_DIR``, default
``services/fuse/scripts/``); an administrator *registers* one by its file name for a config (or for all). A script
is called as ``script -i IN.vidjil -o OUT.vidjil`` (``.py`` files with the service's Python) and must write the
transformed fused result. Nothing is uploaded through the API: only files already on the server can run.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.principal import Principal
from services.fuse.exceptions import BadRequest, NotFound
from services.fuse.models import PostScript

BUNDLED_DIR = Path(__file__).resolve().parent / "scripts"


def scripts_dir(settings: Settings) -> Path:
    """The folder holding the scripts that may be registered."""
    return Path(settings.fuse_scripts_dir) if settings.fuse_scripts_dir else BUNDLED_DIR


def available(settings: Settings) -> list[str]:
    """File names of the scripts in the scripts folder (``.py`` files or executables), sorted."""
    folder = scripts_dir(settings)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith((".", "_"))
                  and (p.suffix == ".py" or os.access(p, os.X_OK)))


def resolve(settings: Settings, name: str) -> Path:
    """The path of script ``name``; BadRequest if the name holds a path, NotFound if the file is not there."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise BadRequest("a script is named by its file name only (no folder, no leading dot)", {"name": name})
    path = scripts_dir(settings) / name
    if name not in available(settings):
        raise NotFound(f"script {name} is not in the scripts folder {scripts_dir(settings)}", {"name": name})
    return path


def script_dict(script: PostScript) -> dict:
    return {"id": script.id, "name": script.name, "config_id": script.config_id, "position": script.position,
            "enabled": script.enabled, "description": script.description, "created_by": script.created_by,
            "created_at": script.created_at.isoformat() + "Z" if script.created_at else None}


def register(session: Session, settings: Settings, principal: Principal, name: str, config_id: int | None,
             position: int = 0, description: str = "") -> PostScript:
    """Register script ``name`` for ``config_id`` (None: every config). Administrators only."""
    principal.require_admin()
    resolve(settings, name)
    if config_id is not None and (not isinstance(config_id, int) or isinstance(config_id, bool)):
        raise BadRequest("config_id must be an integer or null", {"config_id": config_id})
    if not isinstance(position, int) or isinstance(position, bool):
        raise BadRequest("position must be an integer", {"position": position})
    script = PostScript(name=name, config_id=config_id, position=position, enabled=True,
                        description=str(description or "")[:2000], created_by=principal.user_id)
    session.add(script)
    session.flush()
    return script


def remove(session: Session, principal: Principal, script_id: int) -> None:
    """Unregister a script (administrators only); NotFound if unknown."""
    principal.require_admin()
    script = session.get(PostScript, script_id) if isinstance(script_id, int) else None
    if script is None:
        raise NotFound(f"post-script {script_id} is not registered", {"script_id": script_id})
    session.delete(script)


def for_config(session: Session, config_id: int) -> list[PostScript]:
    """Enabled scripts to run on fused results of ``config_id``, in order."""
    return list(session.scalars(
        sa.select(PostScript).where(PostScript.enabled.is_(True),
                                    sa.or_(PostScript.config_id == config_id, PostScript.config_id.is_(None)))
        .order_by(PostScript.position, PostScript.id)))
