"""Administration pages: users, groups and rights, analysis configurations and pre-processes, workers and queue,
audit log, site settings.

Each page reads through the services' RPC as the logged-in user (the services refuse non-administrators: the page
then shows 403); changes are made by ``form.api-form`` elements, which the page's JavaScript sends to the REST API.
"""

from __future__ import annotations

from flask import request

from gateway.auth import call_as_user, context
from gateway.ui import bp
from gateway.ui.pages import _page, user
from services.common.exceptions import PermissionDenied, RepseqError

CAPABILITIES = ("read", "create", "upload", "run", "save", "admin", "anon")
CAPABILITY_HELP = {"read": "see the group's sets", "create": "create sets", "upload": "add samples",
                   "run": "launch analyses", "save": "save analyses", "admin": "edit, delete, share",
                   "anon": "see patient identities"}


def admin_user() -> dict:
    principal = user()
    if not principal.get("is_admin"):
        raise PermissionDenied("administrator rights required")
    return principal


def _try(service: str, method: str, *args, default=None):
    """``(result, None)`` or ``(default, message)``: one failing panel must not break a whole admin page."""
    try:
        return call_as_user(service, method, *args), None
    except RepseqError as error:
        if error.http_status in (401,):
            raise
        return default, error.message
    except Exception as error:  # e.g. a service older than the gateway: shown as a note on the panel
        return default, f"{service}.{method} unavailable ({type(error).__name__})"


@bp.get("/admin")
def admin_index():
    from gateway.ui.site import site_settings

    admin_user()
    users, users_error = _try("auth", "list_users", "", 1000, 0, default=[])
    groups, groups_error = _try("auth", "list_groups", default=[])
    workers, workers_error = _try("jobs", "list_workers", default=[])
    active, active_error = _try("jobs", "list_all_jobs", None, 1000, default=[])
    configs, configs_error = _try("jobs", "list_configs", default=[])
    settings = context().settings
    counts = {}
    for job in active or []:
        counts[job["state"]] = counts.get(job["state"], 0) + 1
    return _page("admin/index.html", section="index", users=users, groups=groups, workers=workers,
                 job_counts=counts, configs=configs,
                 errors=[e for e in (users_error, groups_error, workers_error, active_error, configs_error) if e],
                 site={"healthcare_compliance": site_settings()["healthcare_compliance"],
                       "max_upload_bytes": settings.max_upload_bytes,
                       "self_registration": settings.auth_self_registration,
                       "default_run": settings.auth_default_run, "workers_started_here": settings.workers})


@bp.get("/admin/users")
def admin_users():
    admin_user()
    search = (request.args.get("search") or "").strip()[:200]
    users, error = _try("auth", "list_users", search, 500, 0, default=[])
    return _page("admin/users.html", section="users", users=users, search=search, error=error)


@bp.get("/admin/groups")
def admin_groups():
    admin_user()
    groups, error = _try("auth", "list_groups", default=[])
    names = {g["id"]: g["name"] for g in groups or []}
    return _page("admin/groups.html", section="groups", groups=groups, names=names, error=error,
                 capabilities=CAPABILITIES, capability_help=CAPABILITY_HELP)


@bp.get("/admin/groups/<int:group_id>")
def admin_group(group_id: int):
    admin_user()
    group = call_as_user("auth", "get_group", group_id)
    users, error = _try("auth", "list_users", "", 1000, 0, default=[])
    member_ids = {m["id"] for m in group.get("members") or []}
    candidates = [u for u in users or [] if u["id"] not in member_ids]
    return _page("admin/group.html", section="groups", group=group, candidates=candidates, error=error,
                 capabilities=CAPABILITIES)


@bp.get("/admin/configs")
def admin_configs():
    admin_user()
    configs, error = _try("jobs", "list_configs", default=[])
    pre_processes, pre_error = _try("jobs", "list_pre_processes", default=[])
    return _page("admin/configs.html", section="configs", configs=configs, pre_processes=pre_processes,
                 errors=[e for e in (error, pre_error) if e])


@bp.get("/admin/queue")
def admin_queue():
    admin_user()
    workers, workers_error = _try("jobs", "list_workers", default=[])
    active, active_error = _try("jobs", "list_all_jobs", None, 200, default=[])
    finished, finished_error = _try("jobs", "list_all_jobs", ["FAILED", "TIMEOUT", "CANCELLED", "COMPLETED"], 50,
                                    default=[])
    return _page("admin/queue.html", section="queue", workers=workers, active=active, finished=finished,
                 errors=[e for e in (workers_error, active_error, finished_error) if e])


@bp.get("/admin/audit")
def admin_audit():
    admin_user()
    filters = {}
    for key in ("action",):
        if request.args.get(key):
            filters[key] = request.args[key][:100]
    for key in ("user_id", "group_id", "before_id"):
        value = request.args.get(key, "")
        if value.isdigit():
            filters[key] = int(value)
    filters["limit"] = 100
    entries, error = _try("auth", "list_audit", filters, default=[])
    next_before = entries[-1]["id"] if entries and len(entries) == 100 and "id" in entries[-1] else None
    return _page("admin/audit.html", section="audit", entries=entries, error=error, filters=filters,
                 next_before=next_before)
