"""The default multi-locus config says which incomplete recombinations it really covers.

A fresh install has the germline bodies of the 7 loci and TRA+D (Vd-Ja) only; IGH+ (Dh-Jh), IGK+ (Kde), TRB+
(Db-Jb) and TRD+ (Dd2/Dd3) need flanking sequences that an administrator supplies (docs/germlines.md). The
old description promised them unconditionally. Only the untouched default text is rewritten.

Revision ID: jobs_0004
Revises: jobs_0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_0004"
down_revision = "jobs_0003"
branch_labels = None
depends_on = None

OLD = ("All 7 human loci (IGH, IGK, IGL, TRA, TRB, TRG, TRD) with the incomplete and unusual "
       "recombinations available in the germline database (IGH+, IGK+, TRB+, TRD+, TRA+D).")
NEW = ("All 7 human loci (IGH, IGK, IGL, TRA, TRB, TRG, TRD) and every incomplete or unusual recombination "
       "whose germline sequences are installed: TRA+D (Vd-Ja) always; IGH+ (Dh-Jh), IGK+ (Kde), TRB+ (Db-Jb) "
       "and TRD+ (Dd2/Dd3) only once an administrator has supplied their flanking sequences "
       "(python -m vdj.germline import-special, see docs/germlines.md).")

configs = sa.table("analysis_config", sa.column("name", sa.String), sa.column("description", sa.Text))


def upgrade() -> None:
    op.execute(configs.update().where(configs.c.name == "multi+inc", configs.c.description == OLD)
               .values(description=NEW))


def downgrade() -> None:
    op.execute(configs.update().where(configs.c.name == "multi+inc", configs.c.description == NEW)
               .values(description=OLD))
