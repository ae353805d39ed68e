"""Access analysis over the directory: pure code, no I/O (issue 16)."""
