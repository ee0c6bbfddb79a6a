"""The WeCom connector."""
