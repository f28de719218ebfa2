"""Schema sections of the response-model programs, one module per program."""
