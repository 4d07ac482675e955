"""The subcommands of ``scooptrace``, one module per area; ``scooptrace.cli`` adds them to the group."""
