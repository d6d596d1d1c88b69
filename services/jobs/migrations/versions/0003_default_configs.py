"""Default analysis configs (multi-locus, each single locus, import of an analysed file) and the shipped
pre-processes (paired-end merging with FLASH or vsearch, Debian packages ``flash`` / ``vsearch``).

All are ``public``: every user may use them (as if the public group held an access row).

Revision ID: jobs_0003
Revises: jobs_0002
Create Date: 2026-11-29
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "jobs_0003"
down_revision = "jobs_0002"
branch_labels = None
depends_on = None

FUSE_DEFAULT = "-t 100"

LOCI = {
    "IGH": "immunoglobulin heavy chain (V-D-J)",
    "IGK": "immunoglobulin kappa (V-J)",
    "IGL": "immunoglobulin lambda (V-J)",
    "TRA": "T-cell receptor alpha (V-J)",
    "TRB": "T-cell receptor beta (V-D-J)",
    "TRG": "T-cell receptor gamma (V-J)",
    "TRD": "T-cell receptor delta (V-D-J)",
}

CONFIGS = [
    dict(name="multi+inc", program="vdj", command="-g multi", classification="multi-locus",
         description="All 7 human loci (IGH, IGK, IGL, TRA, TRB, TRG, TRD) with the incomplete and unusual "
                     "recombinations available in the germline database (IGH+, IGK+, TRB+, TRD+, TRA+D)."),
    *[dict(name=locus, program="vdj", command=f"-g {locus}", classification="single locus",
           description=f"Only {locus}: {meaning}.") for locus, meaning in LOCI.items()],
    dict(name="import", program="none", command="", classification="import",
         description="Import an already analysed file: the uploaded .vidjil or AIRR TSV is stored as the result."),
]

PRE_PROCESSES = [
    dict(name="FLASH merge", command="flash --quiet --max-overlap 300 --to-stdout &file1& &file2& > &result&",
         description="Merge overlapping paired-end reads R1/R2 with FLASH (Debian package flash); unmerged "
                     "pairs are dropped."),
    dict(name="vsearch merge", command="vsearch --quiet --fastq_mergepairs &file1& --reverse &file2& "
                                      "--fastqout &result&",
         description="Merge overlapping paired-end reads R1/R2 with vsearch --fastq_mergepairs (Debian package "
                     "vsearch); unmerged pairs are dropped."),
]


def upgrade() -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    configs = sa.table("analysis_config", sa.column("name", sa.String), sa.column("program", sa.String),
                       sa.column("command", sa.Text), sa.column("fuse_command", sa.Text),
                       sa.column("description", sa.Text), sa.column("classification", sa.String),
                       sa.column("public", sa.Boolean), sa.column("created_at", sa.DateTime))
    op.bulk_insert(configs, [{**c, "fuse_command": FUSE_DEFAULT, "public": True, "created_at": now}
                             for c in CONFIGS])
    pre = sa.table("pre_process", sa.column("name", sa.String), sa.column("command", sa.Text),
                   sa.column("description", sa.Text), sa.column("public", sa.Boolean),
                   sa.column("created_at", sa.DateTime))
    op.bulk_insert(pre, [{**p, "public": True, "created_at": now} for p in PRE_PROCESSES])


def downgrade() -> None:
    names = [c["name"] for c in CONFIGS]
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM analysis_config WHERE name IN :names").bindparams(
        sa.bindparam("names", value=names, expanding=True)))
    conn.execute(sa.text("DELETE FROM pre_process WHERE name IN :names").bindparams(
        sa.bindparam("names", value=[p["name"] for p in PRE_PROCESSES], expanding=True)))
