"""Sub-commands added by other parts of RepSeq.

Each module here defines ``add_commands(top, admin)``, where ``top`` and ``admin`` are argparse sub-parser
collections (``repseq <cmd>`` and ``repseq admin <cmd>``). Each parser sets ``func=handler`` with
``handler(args) -> int`` (exit code). ``repseq.cli`` imports every module of this package, so adding a command
never needs an edit of cli.py.
"""
