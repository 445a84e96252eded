import sys

from tapps_lsp.server.cli import main

sys.exit(main())
