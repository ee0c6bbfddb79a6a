"""A WeCom simulator for tests and the demo, reached only over HTTP."""
