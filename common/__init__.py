"""Floor package: settings, errors, time claims and other pieces every stage shares."""
