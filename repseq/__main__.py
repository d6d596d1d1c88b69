import sys

from repseq.cli import main

sys.exit(main())
