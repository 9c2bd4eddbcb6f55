"""Invariant checks every model passes, importable by plug-in packages to test their own kinds."""
