"""The in-app configuration: schema, loader and cross-field validation."""
