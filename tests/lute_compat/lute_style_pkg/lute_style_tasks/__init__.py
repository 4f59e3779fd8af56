"""Tasks written the LUTE way."""
