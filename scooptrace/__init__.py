"""scooptrace: who broke an outage story, who followed, and who credited whom."""

__version__ = "0.1.0"
