#!/bin/bash
# First start of the MariaDB container: let the application user own every `repseq_*` database (one per
# service; the services create them through `repseq admin migrate`).
set -euo pipefail
mariadb -uroot -p"${MARIADB_ROOT_PASSWORD}" <<SQL
GRANT ALL PRIVILEGES ON \`repseq\\_%\`.* TO '${MARIADB_USER}'@'%';
FLUSH PRIVILEGES;
SQL
