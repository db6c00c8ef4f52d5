"""Notifier adapters: one module per channel behind one small interface (`base`).

Channels are discovered through the `nhacviec.notifiers` entry-point group
(`registry`); the built-in ones are declared in pyproject.toml like any plug-in.
"""
