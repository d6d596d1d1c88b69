"""Pages of the browser application: login, first administrator, sample sets (list/search/create), a set with its
samples (upload, launch, live status), results (clone table, follow-up plot, V/J usage, QC)."""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from flask import Flask, g, redirect, render_template, request, send_from_directory, url_for
from werkzeug.exceptions import HTTPException

from gateway import clones as views
from gateway.api.schemas import SET_KINDS
from gateway.auth import call, call_as_user, clear_session_cookies, client_ip, current_csrf_token, \
    optional_principal, SESSION_COOKIE, set_session_cookies, check_csrf
from gateway.errors import http_error_response
from gateway.plot import follow_up_svg
from gateway.ui import bp
from services.common.exceptions import BadRequest, NotFound, RepseqError, Unauthenticated

log = logging.getLogger(__name__)

KIND_LABELS = {"patient": "Patients", "run": "Runs", "generic": "Sets"}
KIND_SINGULAR = {"patient": "patient", "run": "run", "generic": "set"}
JOB_STATES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
#: Names of the 8 clone tags (as in the Vidjil browser's defaults), shown in the clone table.
TAG_NAMES = ("clone 1", "clone 2", "clone 3", "standard", "standard (noise)", "custom 1", "custom 2", "smaller")
#: Form fields of each kind of set (as the samples service names them).
SET_FIELDS = {"patient": ("first_name", "last_name", "birth_date", "label", "info"),
              "run": ("name", "run_date", "sequencer", "pcr", "label", "info"),
              "generic": ("name", "info")}


# -- helpers -------------------------------------------------------------------------------------------------------
class LoginRequired(Exception):
    """Raised by :func:`user` when the page needs a logged-in user."""


def user() -> dict:
    principal = optional_principal()
    if principal is None:
        raise LoginRequired()
    return principal


def set_title(sample_set: dict[str, Any]) -> str:
    """The name a set is shown under (pseudonymised patient names come from the samples service as they are)."""
    for key in ("display_name", "name"):
        if sample_set.get(key):
            return str(sample_set[key])
    fields = sample_set.get("fields") or sample_set
    if fields.get("name"):
        return str(fields["name"])
    names = " ".join(str(fields[k]) for k in ("last_name", "first_name") if fields.get(k))
    return names or f"set {sample_set.get('id')}"


def set_fields(sample_set: dict[str, Any]) -> dict[str, Any]:
    return sample_set.get("fields") or sample_set


def _site_settings() -> dict[str, Any]:
    from gateway.api.admin import site_info

    try:
        return site_info()
    except Exception:  # the banner is informative; it must not break the login page
        return {"healthcare_compliance": False, "initialized": None}


def _news() -> list[dict]:
    """News items for the banner of the logged-in user (reporter service, gateway/ui/site.py)."""
    from gateway.ui.site import active_news

    return active_news()


@bp.app_context_processor
def _template_globals():
    return {"csrf_token": current_csrf_token, "principal": g.get("principal"), "set_title": set_title,
            "set_fields": set_fields, "KIND_LABELS": KIND_LABELS, "KIND_SINGULAR": KIND_SINGULAR,
            "percent": _percent, "TAG_NAMES": TAG_NAMES}


def _percent(share: float | None, digits: int = 2) -> str:
    if share is None:
        return "–"
    if share == 0:
        return "0"
    value = 100 * share
    if value < 0.01:
        return f"{value:.1e}%"
    return f"{value:.{digits}f}%"


def _page(template: str, status: int = 200, **context):
    context.setdefault("news", _news())
    return render_template(template, **context), status


def install_error_pages(app: Flask) -> None:
    """HTML error pages for browser paths (JSON stays the answer under /api and for non-HTML clients)."""

    def wants_html() -> bool:
        if request.path.startswith("/api/") or request.path == "/health":
            return False
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        return best == "text/html"

    def http_error(error: HTTPException):
        if wants_html():
            return render_template("error.html", status=error.code, message=error.description,
                                   news=[]), error.code
        return http_error_response(error)

    for status in (404, 405):
        app.register_error_handler(status, http_error)


@bp.errorhandler(LoginRequired)
def _login_required(error):
    return redirect(url_for("ui.login_page", next=request.full_path.rstrip("?")))


@bp.errorhandler(RepseqError)
def _service_error(error: RepseqError):
    if error.http_status == 401:
        response = redirect(url_for("ui.login_page", next=request.full_path.rstrip("?")))
        clear_session_cookies(response)
        return response
    return _page("error.html", status=error.http_status, status_code=error.http_status, message=error.message,
                 details=error.details)


# -- login / logout / first administrator ------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("ui.home")
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login_page():
    """Login form; POST checks the password with the auth service and sets the session cookie."""
    error = None
    email = ""
    if request.method == "GET" and optional_principal() is not None:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        origin = request.headers.get("Origin")
        if origin and urllib.parse.urlsplit(origin).netloc != request.host:
            error = "Cross-origin login refused."
        elif not email or not password:
            error = "Enter your e-mail address and password."
        else:
            try:
                result = call("auth", "login", email, password, client_ip(),
                              request.headers.get("User-Agent", "")[:255])
            except RepseqError as failure:
                if failure.http_status >= 500:
                    raise
                error = failure.message or "Wrong e-mail address or password."
            else:
                response = redirect(_safe_next(request.args.get("next")))
                set_session_cookies(response, result["session_token"])
                return response
    g.principal = None
    return _page("login.html", status=401 if error else 200, error=error, email=email,
                 settings=_site_settings(), news=[])


@bp.route("/init", methods=["GET", "POST"])
def init_page():
    """First start: create the first administrator (the auth service refuses once a user exists)."""
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        if password != request.form.get("confirm_password"):
            error = "The two passwords differ."
        elif len(password) < 8:
            error = "The password needs at least 8 characters."
        else:
            try:
                call("auth", "init_admin", email, password)
            except RepseqError as failure:
                if failure.http_status >= 500:
                    raise
                error = failure.message
            else:
                return redirect(url_for("ui.login_page"))
    g.principal = None
    return _page("init.html", status=400 if error else 200, error=error, news=[])


@bp.post("/logout")
def logout_page():
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            check_csrf(token)
            call("auth", "logout", token)
        except RepseqError:
            pass  # logging out with an expired session or a stale page still clears the cookies
    response = redirect(url_for("ui.login_page"))
    clear_session_cookies(response)
    return response


# -- sets ----------------------------------------------------------------------------------------------------------
@bp.get("/")
def home():
    user()
    return redirect(url_for("ui.sets_page", kind="patient"))


def _int_arg(name: str, default: int, low: int = 1, high: int = 100000) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        return default


@bp.get("/sets")
def sets_page():
    """List of patients / runs / sets with search (words, #tags) and pagination."""
    user()
    kind = request.args.get("kind") or "patient"
    if kind not in SET_KINDS:
        kind = "patient"
    search = (request.args.get("search") or "").strip()[:1000]
    page = _int_arg("page", 1)
    per_page = _int_arg("per_page", 50, 1, 200)
    query = {"kind": kind, "page": page, "per_page": per_page, "search": search}
    listing = call_as_user("samples", "list_sample_sets", query)
    items = listing.get("items", []) if isinstance(listing, dict) else listing
    total = listing.get("total") if isinstance(listing, dict) else None
    has_next = listing.get("has_next") if isinstance(listing, dict) else len(items) >= per_page
    return _page("sets.html", kind=kind, search=search, page=page, per_page=per_page, items=items, total=total,
                 has_next=has_next)


def _group_choices() -> list[dict]:
    """Groups in which the caller may create sets (``create_groups`` of ``GET /api/v1/auth/me``: the same rule and
    order), each ``{"id", "name"}``; the personal group is named "personal (user_0007)"."""
    from gateway.api.auth import creation_groups

    return [{"id": grp["id"], "name": f"personal ({grp['name']})" if grp["personal"] else grp["name"]}
            for grp in creation_groups(g.get("principal") or user())["create_groups"]]


@bp.route("/sets/new", methods=["GET", "POST"])
def new_set_page():
    """Create a patient, run or generic set."""
    user()
    kind = request.values.get("kind") or "patient"
    if kind not in SET_KINDS:
        kind = "patient"
    error = None
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        check_csrf(g.session_token or "")
        fields = {k: v.strip() for k, v in form.items()
                  if k in SET_FIELDS.get(kind, ()) and v.strip()}
        group_id = form.get("group_id")
        try:
            created = call_as_user("samples", "create_sample_set", kind, fields,
                                   int(group_id) if group_id and group_id.isdigit() else None)
        except RepseqError as failure:
            if failure.http_status >= 500 or failure.http_status == 401:
                raise
            error = failure.message
        else:
            return redirect(url_for("ui.set_page", sample_set_id=created["id"]))
    return _page("set_form.html", status=400 if error else 200, kind=kind, form=form, error=error,
                 groups=_group_choices())


def _configs() -> list[dict]:
    return call_as_user("jobs", "list_configs") or []


def _latest_jobs(sample_set_id: int) -> dict[tuple[int, int], dict]:
    """Latest job per (sample id, config id)."""
    latest: dict[tuple[int, int], dict] = {}
    for job in call_as_user("jobs", "list_jobs", sample_set_id) or []:
        key = (job.get("sample_id"), job.get("config_id"))
        if key not in latest or (job.get("id") or 0) > (latest[key].get("id") or 0):
            latest[key] = job
    return latest


def default_config_id(configs: list[dict]) -> int | None:
    """The configuration pre-selected on pages: the first that runs the analysis program on all loci
    ("multi-locus"), else the first that runs it at all, else the first."""
    for wanted in (lambda c: c.get("program") == "vdj" and c.get("classification") == "multi-locus",
                   lambda c: c.get("program") == "vdj", lambda c: True):
        for config in configs:
            if wanted(config):
                return config["id"]
    return None


def _config_id(configs: list[dict]) -> int | None:
    wanted = request.args.get("config")
    if wanted and wanted.isdigit() and any(c["id"] == int(wanted) for c in configs):
        return int(wanted)
    return default_config_id(configs)


@bp.get("/sets/<int:sample_set_id>")
def set_page(sample_set_id: int):
    """A set: its samples with their job status for the chosen config (updated live), upload and launch."""
    user()
    sample_set = call_as_user("samples", "get_sample_set", sample_set_id)
    configs = _configs()
    config_id = _config_id(configs)
    jobs = _latest_jobs(sample_set_id)
    samples = sample_set.get("samples") or []
    for sample in samples:
        sample["job"] = jobs.get((sample.get("id"), config_id))
    may = sample_set.get("permissions") or {}
    owners, share_choices = [], []
    if may.get("admin"):
        access_ids = list(sample_set.get("access_group_ids") or [])
        try:
            owners = call_as_user("auth", "describe_groups", access_ids) if access_ids else []
            share_choices = [grp for grp in call_as_user("auth", "list_groups") if grp["id"] not in access_ids]
        except RepseqError as error:  # sharing is a side panel: the samples must still show
            log.warning("set %s: groups unavailable: %s", sample_set_id, error.message)
    return _page("set.html", sample_set=sample_set, samples=samples, configs=configs, config_id=config_id,
                 may=may, owners=owners, share_choices=share_choices, fields=SET_FIELDS.get(sample_set.get("kind"), ()))


# -- results -------------------------------------------------------------------------------------------------------
@bp.get("/sets/<int:sample_set_id>/results/<int:config_id>")
def results_page(sample_set_id: int, config_id: int):
    """Clone table, follow-up plot (log scale), V/J usage per locus and QC of a set for a configuration."""
    user()
    sample_set = call_as_user("samples", "get_sample_set", sample_set_id)
    configs = _configs()
    config = next((c for c in configs if c["id"] == config_id), {"id": config_id, "name": f"config {config_id}"})
    top = _int_arg("top", 20, 1, 500)
    try:
        fused = call_as_user("fuse", "get_fused", sample_set_id, config_id)
    except NotFound:
        fused = None
    if not fused:
        return _page("results.html", sample_set=sample_set, config=config, configs=configs, fused=None,
                     status=404)
    analysis = fused.get("analysis") if isinstance(fused.get("analysis"), dict) else None
    samples = views.samples_view(fused)
    order = views.time_order(samples)
    rows = views.clone_rows(fused, top, None, analysis)
    plot_rows = rows[:_int_arg("plot", 10, 1, 20)]
    svg = follow_up_svg(plot_rows, samples, order)
    sample_index = _int_arg("sample", 0, 0, max(len(samples) - 1, 0))
    reporting = views.clone_reporting(fused)
    return _page("results.html", sample_set=sample_set, config=config, configs=configs, fused=fused,
                 samples=samples, order=order, rows=rows, top=top, svg=svg, qc=views.qc_rows(fused),
                 grids=views.vj_usage(fused, sample_index), sample_index=sample_index, reporting=reporting,
                 min_reads=_common_minimum(reporting), diversity_over_all_clones=_diversity_over_all_clones(
                     fused, reporting),
                 vj_counted=(views.vj_counted(fused, sample_index, reporting[sample_index]) if samples else None))


def _diversity_over_all_clones(fused: dict, reporting: list[dict]) -> bool:
    """True when some sample has clones that are not listed and every sample was analysed by vdj, whose
    diversity indices are computed over every clone found (so they have values while the lists may be empty)."""
    producers = (fused.get("samples") or {}).get("producer") or []
    return (bool(producers) and all(str(p).startswith("repseq-vdj") for p in producers)
            and any(r["unreported_clones"] for r in reporting))


def _common_minimum(reporting: list[dict]) -> int | None:
    """The minimum of reads of a reported clone when every sample's analysis used the same one (else None)."""
    minimums = {r["min_reads"] for r in reporting}
    return minimums.pop() if len(minimums) == 1 else None


@bp.get("/sets/<int:sample_set_id>/history")
def history_page(sample_set_id: int):
    """The audit trail of a set and its samples (who did what, when), newest first."""
    user()
    sample_set = call_as_user("samples", "get_sample_set", sample_set_id)
    page = _int_arg("page", 1)
    trail = call_as_user("samples", "list_audit", sample_set_id, page, 100)
    return _page("history.html", sample_set=sample_set, trail=trail, page=page, kind=sample_set.get("kind"))


def _latest_result_ids(sample_set_id: int, config_id: int) -> list[int]:
    """Newest visible result of each sample of a set for a configuration (samples in sampling order)."""
    latest: dict[int, dict] = {}
    for result in call_as_user("jobs", "list_results", sample_set_id, None, config_id) or []:
        if result.get("hidden"):
            continue
        known = latest.get(result["sample_id"])
        if known is None or result["id"] > known["id"]:
            latest[result["sample_id"]] = result
    return [r["id"] for r in sorted(latest.values(), key=lambda r: r["id"])]


@bp.get("/compare")
def compare_page():
    """Compare the samples of several sets (e.g. two patients, or a patient and a run) analysed with one
    configuration: their latest results are fused on demand (fuse.compare) and shown like a set's results."""
    user()
    configs = _configs()
    config_id = _config_id(configs)
    raw = request.args.get("sets", "")
    set_ids = list(dict.fromkeys(int(x) for x in raw.replace(",", " ").split() if x.isdigit()))[:20]
    context: dict[str, Any] = {"configs": configs, "config_id": config_id, "sets_text": raw[:200], "fused": None,
                               "error": None}
    if set_ids and config_id:
        result_ids = [r for set_id in set_ids for r in _latest_result_ids(set_id, config_id)]
        if not result_ids:
            context["error"] = "None of these sets has a result for this configuration yet."
        else:
            try:
                fused = call_as_user("fuse", "compare", result_ids, None)
            except RepseqError as failure:
                if failure.http_status in (401, 503):
                    raise
                context["error"] = failure.message
            else:
                samples = views.samples_view(fused)
                order = list(range(len(samples)))
                rows = views.clone_rows(fused, _int_arg("top", 20, 1, 500))
                reporting = views.clone_reporting(fused)
                context.update(fused=fused, samples=samples, order=order, rows=rows, qc=views.qc_rows(fused),
                               reporting=reporting, min_reads=_common_minimum(reporting),
                               svg=follow_up_svg(rows[:10], samples, order))
    return _page("compare.html", **context)


@bp.get("/favicon.ico")
def favicon():
    """The site icon (an SVG, served for browsers and tools that ask for /favicon.ico regardless of the page's
    ``<link rel="icon">``); no login needed, it reveals nothing."""
    return send_from_directory(bp.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/api")
def api_page():
    return redirect(url_for("openapi.openapi_page"))


def bad_request(message: str) -> BadRequest:
    return BadRequest(message)


__all__ = ["bp", "install_error_pages", "Unauthenticated"]
