"""The public transparency log (issue 13): docs/transparency-log.md."""
