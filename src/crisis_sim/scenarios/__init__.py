"""The built-in scenarios, shipped as package data (TOML files; see ``crisis-sim scenarios``)."""
