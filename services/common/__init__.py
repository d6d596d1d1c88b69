"""Code shared by every RepSeq service and the gateway (configuration, database, storage, events, errors)."""

import warnings

# eventlet (imported by nameko) warns on import that it is in maintenance mode; nameko 2.14 needs it anyway
# (see docs/decisions.md), so the warning is noise in every command.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
