"""tapps-lsp, installed as one namespace: `tapps_lsp.server` (the language server and the
`check` CLI) and `tapps_lsp.analyzers` (the engine).

In the repository the two packages are the top-level folders `server/` and `analyzers/`;
this folder links them in, so that imports, mypy and the editable install all see the names
the wheel installs.
"""
