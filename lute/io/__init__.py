"""Input and output: configuration files, parameter models, database, eLog."""
