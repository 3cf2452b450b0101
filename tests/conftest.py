"""Shared test helpers live beside this file (``printed``); pytest puts this folder on sys.path."""
