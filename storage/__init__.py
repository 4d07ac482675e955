"""Storage: the one package that opens the database and holds every SQL statement (DuckLake)."""
