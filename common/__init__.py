"""The floor every stage stands on: settings, errors, time claims, text and URL rules. Imports nothing above."""
