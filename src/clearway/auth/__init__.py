"""Who is calling: API clients, their secrets, roles and scopes, and the signed tokens the API and the
officers' pages check (one module for both, so neither edge imports the other)."""
