"""Baselines: the findings a project has accepted, kept in `.tapps/baseline.json`, so
that only new findings are reported. Plain library code: no pygls, no lsprotocol.

`github_hash` is GitHub's `primaryLocationLineHash`; `fingerprint` is our own key of a
finding; `matching` tells new findings from baselined ones; `store` reads and writes
the file.
"""
