"""Request and response models of the REST API (pydantic). They validate what comes in and document what goes
out (``gateway.openapi`` turns them into the OpenAPI document). Services validate again: these models only make
bad requests fail early with a 422 that names the field.

Response models allow extra keys: services may add fields without breaking clients.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SET_KINDS = ("patient", "run", "generic")
SetKind = Literal["patient", "run", "generic"]

#: Largest record id accepted (services store ids as signed 32-bit INT columns).
MAX_ID = 2**31 - 1


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


Id = Field(ge=1, le=MAX_ID)


# -- auth -------------------------------------------------------------------------------------------------------
class InitAdminBody(Request):
    email: str = Field(min_length=3, max_length=254, description="login of the first administrator")
    password: str = Field(min_length=8, max_length=1024)


class LoginBody(Request):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenBody(Request):
    name: str = Field(min_length=1, max_length=100, description="what the token is for, e.g. 'lab scripts'")
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ChangePasswordBody(Request):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ResetPasswordBody(Request):
    token: str = Field(min_length=1, max_length=500)
    new_password: str = Field(min_length=1, max_length=1024)


class ImpersonateBody(Request):
    user_id: int = Id


class UserAnswer(Answer):
    id: int
    email: str


class LoginAnswer(Answer):
    user: dict[str, Any]
    csrf_token: str = Field(description="send it as X-CSRF-Token on unsafe requests with the session cookie")


class TokenAnswer(Answer):
    token: str | None = Field(None, description="the secret, shown once")


class PrincipalAnswer(Answer):
    user_id: int
    email: str
    is_admin: bool
    groups: list[Any] = []


class CreationGroup(Answer):
    id: int
    name: str
    kind: str | None = Field(None, description="organisation group: group; personal group: personal; public")
    parent_id: int | None = None
    personal: bool = Field(description="the caller's personal group")


class MeAnswer(PrincipalAnswer):
    create_groups: list[CreationGroup] = Field(
        description="groups in which the caller may create sample sets (the group_id of POST /sample_sets), best "
                    "first: organisation groups, then the personal group")
    personal_group_id: int | None = None


class CreateUserBody(Request):
    email: str = Field(min_length=3, max_length=254)
    password: str | None = Field(None, min_length=1, max_length=1024,
                                 description="omit it to get a reset token with which the user chooses one")
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    is_admin: bool = False


class UpdateUserBody(Request):
    email: str | None = Field(None, min_length=3, max_length=254)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    is_active: bool | None = None


class PasswordBody(Request):
    password: str = Field(min_length=1, max_length=1024)


class UsersQuery(Request):
    search: str = Field("", max_length=200)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10**9)


class GroupBody(Request):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    parent_id: int | None = Field(None, ge=1, le=MAX_ID)
    capabilities: list[Literal["read", "create", "upload", "run", "save", "admin", "anon"]] | None = Field(
        None, max_length=7, description="default: read, create, upload, save, admin")


class MembershipBody(Request):
    user_id: int = Id


class CapabilitiesBody(Request):
    capabilities: list[Literal["read", "create", "upload", "run", "save", "admin", "anon"]] = Field(max_length=7)


# -- sample sets ----------------------------------------------------------------------------------------------------
class SampleSetFields(Request):
    """Fields of a set; which are required depends on ``kind`` (patient: first_name and last_name; run and
    generic set: name). Names may not contain ``|``."""

    name: str | None = Field(None, max_length=255, description="run or generic set name")
    first_name: str | None = Field(None, max_length=255)
    last_name: str | None = Field(None, max_length=255)
    birth_date: date | None = None
    label: str | None = Field(None, max_length=255, description="the lab's identifier of the patient or run")
    run_date: date | None = None
    sequencer: str | None = Field(None, max_length=255)
    pcr: str | None = Field(None, max_length=255)
    info: str | None = Field(None, max_length=65535, description="free text; #words are tags")


class CreateSampleSetBody(Request):
    kind: SetKind
    fields: SampleSetFields
    group_id: int = Field(ge=1, le=MAX_ID, description="owning group: one where the caller has the create right "
                                                      "(or the parent of one); see GET /api/v1/auth/me")


class UpdateSampleSetBody(Request):
    fields: SampleSetFields


class ListSampleSetsQuery(Request):
    kind: SetKind | None = Field(None, description="patient, run or generic")
    search: str = Field("", max_length=1000,
                        description="words match names, labels, info or the id; #words are required tags")
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(50, ge=1, le=200)
    sort: Literal["name", "date", "created", "id"] = "created"
    reverse: bool = True


class PageQuery(Request):
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(100, ge=1, le=500)


class TagQuery(Request):
    prefix: str = Field("", max_length=100)
    limit: int = Field(20, ge=1, le=200)


class BatchBody(Request):
    kind: SetKind
    rows: str = Field(min_length=1, max_length=1_000_000, description="tab-separated lines")
    group_id: int = Id


class ShareBody(Request):
    group_id: int = Id


class SampleSetAnswer(Answer):
    id: int
    kind: str


class SampleSetPage(Answer):
    items: list[dict[str, Any]]
    page: int | None = None
    per_page: int | None = None
    total: int | None = None


# -- samples ------------------------------------------------------------------------------------------------------
class CreateSampleBody(Request):
    filename: str = Field(min_length=1, max_length=400, description="original file name (.fastq, .fa, .gz...)")
    sampling_date: date | None = None
    info: str = Field("", max_length=10000)
    also_in_sets: list[int] = Field(default_factory=list, max_length=100,
                                    description="other sets that hold this sample (a run, a generic set)")
    filename2: str | None = Field(None, min_length=1, max_length=400,
                                  description="R2 file name of a paired-end sample (upload it with file_number=2)")
    pre_process_id: int | None = Field(None, ge=1, le=MAX_ID,
                                       description="pre-process merging R1/R2 before analysis (GET /pre_processes)")


class UpdateSampleBody(Request):
    sampling_date: date | None = None
    info: str | None = Field(None, max_length=65535)
    pcr: str | None = Field(None, max_length=255)
    sequencer: str | None = Field(None, max_length=255)
    producer: str | None = Field(None, max_length=255)
    sample_set_ids: list[int] | None = Field(None, max_length=50, description="the sets holding the sample")


class UploadQuery(Request):
    filename: str | None = Field(None, min_length=1, max_length=400,
                                 description="name of the file sent (else the X-Filename header, else the sample's "
                                             "current name): named in every message about it, sanitised and "
                                             "type-checked as at creation; the sample takes it once the file is "
                                             "accepted")
    file_number: int = Field(1, ge=1, le=2, description="1, or 2 for the R2 file of a paired-end sample")


class DeleteSampleQuery(Request):
    with_results: bool = Field(False, description="delete the whole sample and its results (else only the file)")
    confirm: bool = Field(False, description="required with with_results")


class SampleAnswer(Answer):
    id: int


# -- jobs -----------------------------------------------------------------------------------------------------------
class LaunchBody(Request):
    sample_id: int = Id
    sample_set_id: int = Id
    config_id: int = Id


class LaunchSetBody(Request):
    config_id: int = Id
    sample_ids: list[int] | None = Field(None, max_length=1000,
                                         description="default: every sample of the set not yet analysed or failed")


class JobsQuery(Request):
    sample_set_id: int | None = Field(None, ge=1, le=MAX_ID)
    sample_id: int | None = Field(None, ge=1, le=MAX_ID)
    state: Literal["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"] | None = None


class JobLinks(Answer):
    self: str
    set_jobs: str | None = Field(None, description="the jobs of the job's set")
    result: str | None = Field(None, description="the stored result (COMPLETED analyses)")
    vidjil: str | None = Field(None, description="download of the result's .vidjil")
    airr: str | None = Field(None, description="download of the result's AIRR TSV")
    log: str | None = Field(None, description="download of the analysis log")
    extra: str | None = Field(None, description="download of the extracted reads (grep reads)")
    fused: str | None = Field(None, description="the set's fused result for the job's configuration")
    page: str | None = Field(None, description="browser page of the set's results")


class JobAnswer(Answer):
    id: int
    state: str
    result_id: int | None = Field(None, description="GET /jobs/{id}: the stored result once COMPLETED")
    links: JobLinks | None = Field(None, description="GET /jobs/{id}: where to read the job and its result")


class ConfigBody(Request):
    name: str = Field(min_length=1, max_length=255)
    program: str = Field("vdj", max_length=50)
    command: str = Field("", max_length=2000, description="options of the analysis program")
    fuse_command: str = Field("", max_length=2000)
    description: str = Field("", max_length=2000)
    classification: str | None = Field(None, max_length=255)
    public: bool | None = Field(None, description="usable by every user")
    time_limit_s: int | None = Field(None, ge=1, le=7 * 24 * 3600)
    memory_limit_mb: int | None = Field(None, ge=16, le=1024 * 1024)


class PreProcessBody(Request):
    name: str = Field(min_length=1, max_length=255)
    command: str = Field(min_length=1, max_length=2000, description="template with &file1&, &file2&, &result&")
    description: str = Field("", max_length=2000)
    public: bool | None = None


class ResultsQuery(Request):
    sample_id: int | None = Field(None, ge=1, le=MAX_ID)
    config_id: int | None = Field(None, ge=1, le=MAX_ID)


class DesignateBody(Request):
    sequences: list[str] = Field(min_length=1, max_length=10, description="nucleotide sequences (or FASTA)")
    germline: str = Field("multi", max_length=50)


class ConfigAnswer(Answer):
    id: int
    name: str


# -- results --------------------------------------------------------------------------------------------------------
class ClonesQuery(Request):
    top: int = Field(50, ge=1, le=10000, description="how many clones (best rank over samples first)")
    locus: str | None = Field(None, max_length=20)


class CloneRow(Answer):
    id: str
    rank: int
    name: str | None
    locus: str | None
    v: str | None
    d: str | None
    j: str | None
    cdr3_aa: str | None
    junction_aa: str | None
    productive: bool | None
    reads: list[int]
    shares: list[float | None]


class CloneTable(Answer):
    sample_set_id: int
    config_id: int
    samples: list[dict[str, Any]]
    clones: list[CloneRow]
    notes: list[str] = Field(default_factory=list,
                             description="'<sample>: <why no clone is listed>' for each sample without a reported "
                                         "clone (e.g. every clone under the minimum of reads of the config)")


class AnalysisBody(Request):
    """A saved analysis (``.analysis``: the users' annotations: clone names and tags, clusters, tag names...)."""

    clones: list[dict[str, Any]] = Field(default_factory=list, max_length=100000)
    clusters: list[list[str]] = Field(default_factory=list, max_length=100000)
    tags: dict[str, Any] = Field(default_factory=dict)
    samples: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(None, max_length=1000, description="what changed in this version")


class CloneAnnotationBody(Request):
    name: str | None = Field(None, max_length=255, description="clone name shown instead of the designation")
    tag: int | None = Field(None, ge=0, le=7, description="colour tag 0..7")


class CompareBody(Request):
    results: list[int] = Field(min_length=1, max_length=100, description="ids of analysis results (jobs)")
    top: int | None = Field(None, ge=1, le=10000, description="clones followed per sample")


# -- admin ----------------------------------------------------------------------------------------------------------
class AuditQuery(Request):
    action: str | None = Field(None, max_length=100)
    user_id: int | None = Field(None, ge=1, le=MAX_ID, description="actor, target or impersonator")
    group_id: int | None = Field(None, ge=1, le=MAX_ID)
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = Field(None, ge=1, le=MAX_ID, description="paging: entries older than this id")
    limit: int = Field(100, ge=1, le=1000)


# -- mounted directories, storage, sessions, extra launches, post-scripts -----------------------------------------
class FileSourceBody(Request):
    name: str = Field(min_length=1, max_length=100)
    root: str = Field(min_length=1, max_length=1000, description="absolute directory on the service and worker hosts")
    extensions: list[str] = Field(min_length=1, max_length=20, description='accepted endings, e.g. ["fastq", "fa"]')


class BrowseQuery(Request):
    path: str = Field("", max_length=1000, description="folder inside the mounted directory ('' = its root)")


class MountedSampleBody(Request):
    source_id: int = Id
    path: str = Field(min_length=1, max_length=1000, description="file inside the mounted directory")
    path2: str | None = Field(None, max_length=1000, description="R2 of a pair (merged by pre_process_id)")
    sampling_date: date | None = None
    info: str = Field("", max_length=65535)
    pre_process_id: int | None = Field(None, ge=1, le=MAX_ID)
    also_in_sets: list[int] = Field(default_factory=list, max_length=50)


class StorageGuardBody(Request):
    min_free_percent: float | None = Field(None, ge=0, le=100)
    min_free_bytes: int | None = Field(None, ge=0, le=10**15)


class SessionsQuery(Request):
    user_id: int | None = Field(None, ge=1, le=MAX_ID, description="another user's sessions (administrators)")


class RegisterBody(Request):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)


class GroupChangesBody(Request):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)


class GrepReadsBody(Request):
    sample_id: int = Id
    sample_set_id: int = Id
    config_id: int = Id
    sequence: str = Field(min_length=10, max_length=1000, description="the clone's window (nucleotides)")


class PreProcessLaunchBody(Request):
    sample_id: int = Id
    sample_set_id: int = Id
    pre_process_id: int = Id


class PostScriptBody(Request):
    name: str = Field(min_length=1, max_length=200, description="a file of the scripts folder")
    config_id: int | None = Field(None, ge=1, le=MAX_ID, description="only for this configuration (null: all)")
    position: int = Field(0, ge=0, le=1000)
    description: str = Field("", max_length=1000)
