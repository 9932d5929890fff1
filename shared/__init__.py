"""What both services agree on: the API contract, errors, auth, configuration and database helpers."""
