"""Adapters at the edge: reading library, catalog and plan files. The core never reads files."""
