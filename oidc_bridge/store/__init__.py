"""Shared state: Redis, or fakeredis in-process."""
