import sys

from tapps_lsp.server.cli.main import main

sys.exit(main())
