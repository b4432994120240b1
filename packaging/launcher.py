"""Entry script for the packaged app: ``stella-desktop`` (the app) or ``stella-desktop cli ...``."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "cli":
    from stella_desktop.cli import main as cli_main
    sys.exit(cli_main(sys.argv[2:], whole_process=True))

from stella_desktop.app import entry_point

entry_point()
