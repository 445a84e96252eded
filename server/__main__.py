import sys

from tapps_lsp.server.cli.main import main

# Guarded: the workflows' analysis process (spawned) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
